-- Each account's balance; balance_micros always equals the sum of its ledger rows.
create table accounts (
    account          varchar(255) primary key,
    balance_micros   bigint not null default 0,
    reserved_micros  bigint not null default 0 check (reserved_micros >= 0),
    updated_at       timestamptz not null default now()
);

-- A key's spend in its current quota period (limit 0 = unlimited).
create table key_budgets (
    key_id           uuid primary key,
    account          varchar(255) not null,
    limit_micros     bigint not null default 0,
    quota_reset      varchar(16) not null default 'none',
    period           varchar(16) not null default 'none',
    spent_micros     bigint not null default 0,
    reserved_micros  bigint not null default 0 check (reserved_micros >= 0),
    updated_at       timestamptz not null default now()
);

-- Every credit (+) and charge (-). Idempotency: one charge per request id, one credit per reference.
create table ledger (
    id              bigint generated always as identity primary key,
    account         varchar(255) not null,
    key_id          uuid,
    kind            varchar(16) not null,
    amount_micros   bigint not null,
    request_id      varchar(128),
    reference       varchar(128),
    model           varchar(128),
    input_tokens    bigint,
    output_tokens   bigint,
    outcome         text,
    created_at      timestamptz not null
);
create unique index ledger_request_uq on ledger (request_id) where request_id is not null;
create unique index ledger_credit_reference_uq on ledger (account, reference) where reference is not null;
create index ledger_account_time_ix on ledger (account, created_at);
