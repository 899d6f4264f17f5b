-- Only credits carry a reference. The unique index on (account, reference) held an entry for every
-- usage row too (NULL references): one index insertion per charged record for nothing. Partial now.
create unique index ledger_credit_reference_only_uq on ledger (account, reference)
    where reference is not null;
drop index ledger_credit_reference_uq;
alter index ledger_credit_reference_only_uq rename to ledger_credit_reference_uq;
