-- The sum of an account's credits: the 100 % of its balance thresholds (80/95/100 % of what was
-- credited has been spent). A new credit starts a new threshold period ('credit-<credited>').
alter table accounts add column credited_micros bigint not null default 0;
update accounts a set credited_micros = coalesce(
    (select sum(l.amount_micros) from ledger l where l.account = a.account and l.kind = 'credit'), 0);
