-- The create path in one round trip: checks, key row and outbox row in one statement (its own
-- transaction). Each statement of a PL/pgSQL function takes a fresh snapshot under READ COMMITTED,
-- so the counts below see every key committed before the advisory lock was granted.
--
-- The caller computes the key from the policy row it holds and passes that row's values; when the
-- row differs now, nothing is written and the current row is returned with outcome 'policy', so the
-- caller recomputes and calls again.
--
-- Outcomes: ok | policy | group (missing or disabled) | live (cap reached) | name (taken) |
-- hash (custom key in use).

-- A row written with claimed_until is published by its writer right after the commit (fast path);
-- the polling relay takes it only once the claim has lapsed (the writer crashed or Kafka was down).
alter table outbox add column claimed_until timestamptz;

-- The live-key count of an account without scanning its keys: a per-account count of keys in status
-- active or disabled, kept by a trigger on every insert, status change and delete (whoever writes:
-- key-service, an operator's SQL), and an index of the keys that can expire, so kw_create_key
-- subtracts those past their expiry with a range scan instead of counting every key of the account.
create table account_key_counts (
    account             varchar(255) primary key,
    active_or_disabled  bigint not null
);

insert into account_key_counts (account, active_or_disabled)
select account, count(*) from api_keys where status in ('active', 'disabled') group by account;

create function kw_count_live_keys() returns trigger
language plpgsql
as $$
declare
    was_counted  boolean := false;
    is_counted   boolean := false;
begin
    if tg_op in ('UPDATE', 'DELETE') then
        was_counted := old.status in ('active', 'disabled');
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        is_counted := new.status in ('active', 'disabled');
    end if;
    if tg_op = 'UPDATE' and was_counted and is_counted and old.account <> new.account then
        update account_key_counts set active_or_disabled = active_or_disabled - 1
         where account = old.account;
        insert into account_key_counts as c (account, active_or_disabled) values (new.account, 1)
        on conflict (account) do update set active_or_disabled = c.active_or_disabled + 1;
        return null;
    end if;
    if was_counted = is_counted then
        return null;
    end if;
    if is_counted then
        insert into account_key_counts as c (account, active_or_disabled) values (new.account, 1)
        on conflict (account) do update set active_or_disabled = c.active_or_disabled + 1;
    else
        update account_key_counts set active_or_disabled = active_or_disabled - 1
         where account = old.account;
    end if;
    return null;
end
$$;

create trigger api_keys_count_live
after insert or update of status, account or delete on api_keys
for each row execute function kw_count_live_keys();

create index api_keys_expiring_ix on api_keys (account, expires_at)
    where status in ('active', 'disabled') and expires_at is not null;

create function kw_create_key(
    p_row_max_live          integer,
    p_row_max_quota         bigint,
    p_row_max_lifetime      bigint,
    p_row_default_lifetime  bigint,
    p_max_live      integer,
    p_now           timestamptz,
    p_name_lower    varchar,
    p_custom_hash   varchar,
    p_id            uuid,
    p_account       varchar,
    p_name          varchar,
    p_group         varchar,
    p_status        varchar,
    p_key_hash      varchar,
    p_mask          varchar,
    p_custom        boolean,
    p_allowed_ips   text,
    p_quota_micros  bigint,
    p_quota_reset   varchar,
    p_rpm           integer,
    p_tpm           integer,
    p_concurrent    integer,
    p_expires_at    timestamptz,
    p_event_id      uuid,
    p_topic         varchar,
    p_record_key    varchar,
    p_event_type    varchar,
    p_payload       text,
    p_claimed_until timestamptz)
returns table (
    outcome                    text,
    live                       bigint,
    models_json                text,
    max_live_keys_per_account  integer,
    max_quota_micros           bigint,
    max_lifetime_seconds       bigint,
    default_lifetime_seconds   bigint,
    outbox_seq                 bigint)
language plpgsql
as $$
declare
    pol        key_policy%rowtype;
    g_enabled  boolean;
    g_models   text;
    n_live     bigint := 0;
    v_seq      bigint;
begin
    select * into pol from key_policy where id = 1;
    if (pol.max_live_keys_per_account, pol.max_quota_micros, pol.max_lifetime_seconds,
        pol.default_lifetime_seconds) is distinct from
       (p_row_max_live, p_row_max_quota, p_row_max_lifetime, p_row_default_lifetime) then
        return query select 'policy'::text, 0::bigint, null::text,
            pol.max_live_keys_per_account, pol.max_quota_micros, pol.max_lifetime_seconds,
            pol.default_lifetime_seconds, null::bigint;
        return;
    end if;

    select g.enabled, g.models_json into g_enabled, g_models from key_groups g where g.name = p_group;
    if g_enabled is not true then
        return query select 'group'::text, 0::bigint, null::text, null::integer,
            null::bigint, null::bigint, null::bigint, null::bigint;
        return;
    end if;

    -- one create at a time per account: the cap and the name check below stay exact
    perform pg_advisory_xact_lock(hashtext(p_account));

    -- live = active or disabled, minus those past their expiry: a counter and a range scan of the
    -- account's expired keys, not a scan of all its keys
    select coalesce((select c.active_or_disabled from account_key_counts c
                      where c.account = p_account), 0)
         - (select count(*) from api_keys k
             where k.account = p_account and k.status in ('active', 'disabled')
               and k.expires_at is not null and k.expires_at <= p_now)
      into n_live;
    if n_live >= p_max_live then
        return query select 'live'::text, n_live, null::text, null::integer,
            null::bigint, null::bigint, null::bigint, null::bigint;
        return;
    end if;

    if exists (select 1 from api_keys k where k.account = p_account
                  and lower(k.name) = p_name_lower and k.status <> 'revoked') then
        return query select 'name'::text, n_live, null::text, null::integer,
            null::bigint, null::bigint, null::bigint, null::bigint;
        return;
    end if;

    if p_custom_hash <> '' and exists (select 1 from api_keys k
           where k.key_hash = p_custom_hash or k.previous_key_hash = p_custom_hash) then
        return query select 'hash'::text, n_live, null::text, null::integer,
            null::bigint, null::bigint, null::bigint, null::bigint;
        return;
    end if;

    insert into api_keys (id, account, name, group_name, status, key_hash, mask, custom,
        allowed_ips, quota_micros, quota_reset, requests_per_minute, tokens_per_minute,
        concurrent_requests, expires_at, created_at, updated_at, version, spent_micros)
    values (p_id, p_account, p_name, p_group, p_status, p_key_hash, p_mask, p_custom,
        p_allowed_ips, p_quota_micros, p_quota_reset, p_rpm, p_tpm, p_concurrent, p_expires_at,
        p_now, p_now, 1, 0);

    insert into outbox (event_id, topic, record_key, event_type, payload, created_at, claimed_until)
    values (p_event_id, p_topic, p_record_key, p_event_type, p_payload, p_now, p_claimed_until)
    returning outbox.seq into v_seq;

    return query select 'ok'::text, n_live + 1, g_models, null::integer,
        null::bigint, null::bigint, null::bigint, v_seq;
end
$$;
