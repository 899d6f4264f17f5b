-- kw_create_key (V3) checked the name with a query:
--   exists (select 1 from api_keys k where k.account = p_account
--           and lower(k.name) = p_name_lower and k.status <> 'revoked')
-- PL/pgSQL caches that query's plan in each pooled connection. A connection that planned it while
-- api_keys was small and had never been analyzed chose api_keys_account_created_ix (the account
-- alone) and then read every key of the account on each create, until an ANALYZE of api_keys
-- replaced the plan: with 100,000 keys over 32 accounts, 2,629 buffers and 3 ms per check instead
-- of 4 buffers (the key-create bench's slow runs: PostgreSQL CPU per create 0.28-0.40 ms instead of
-- 0.15, p99 61-104 ms).
--
-- Now the insert's unique index decides (ON CONFLICT on api_keys_account_name_uq DO NOTHING): no
-- plan to choose, one index probe fewer. The outcomes and their order are those of V3.

create or replace function kw_create_key(
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

    if p_custom_hash <> '' and exists (select 1 from api_keys k
           where k.key_hash = p_custom_hash or k.previous_key_hash = p_custom_hash) then
        -- a taken name is still the first refusal when both are taken (as in V3)
        if exists (select 1 from api_keys k where k.account = p_account
                      and lower(k.name) = p_name_lower and k.status <> 'revoked') then
            return query select 'name'::text, n_live, null::text, null::integer,
                null::bigint, null::bigint, null::bigint, null::bigint;
            return;
        end if;
        return query select 'hash'::text, n_live, null::text, null::integer,
            null::bigint, null::bigint, null::bigint, null::bigint;
        return;
    end if;

    -- the name check is the unique index itself (the arbiter), not a query the planner may plan
    -- with another index
    insert into api_keys (id, account, name, group_name, status, key_hash, mask, custom,
        allowed_ips, quota_micros, quota_reset, requests_per_minute, tokens_per_minute,
        concurrent_requests, expires_at, created_at, updated_at, version, spent_micros)
    values (p_id, p_account, p_name, p_group, p_status, p_key_hash, p_mask, p_custom,
        p_allowed_ips, p_quota_micros, p_quota_reset, p_rpm, p_tpm, p_concurrent, p_expires_at,
        p_now, p_now, 1, 0)
    on conflict (account, lower(name)) where status <> 'revoked' do nothing;
    if not found then
        return query select 'name'::text, n_live, null::text, null::integer,
            null::bigint, null::bigint, null::bigint, null::bigint;
        return;
    end if;

    insert into outbox (event_id, topic, record_key, event_type, payload, created_at, claimed_until)
    values (p_event_id, p_topic, p_record_key, p_event_type, p_payload, p_now, p_claimed_until)
    returning outbox.seq into v_seq;

    return query select 'ok'::text, n_live + 1, g_models, null::integer,
        null::bigint, null::bigint, null::bigint, v_seq;
end
$$;
