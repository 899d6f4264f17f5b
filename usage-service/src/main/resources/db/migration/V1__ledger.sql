-- Each account's balance; balance_micros always equals the sum of its ledger rows
-- (credits +, charges -). reserved_micros is the sum of its open holds.
create table accounts (
    account          varchar(255) primary key,
    balance_micros   bigint not null default 0,
    reserved_micros  bigint not null default 0 check (reserved_micros >= 0),
    updated_at       timestamptz not null default now()
);
create index accounts_updated_ix on accounts (updated_at);

-- A key's spend in its current quota period (limit 0 = unlimited). period is the UTC period the
-- spend belongs to ('none', '2026-11-23', 'week-2026-11-23', '2026-11'); when the current period
-- differs, the spend starts again from zero (in the same guarded statement as the next charge).
create table key_budgets (
    key_id           varchar(64) primary key,
    account          varchar(255) not null,
    limit_micros     bigint not null default 0,
    quota_reset      varchar(16) not null default 'none',
    period           varchar(32) not null default 'none',
    spent_micros     bigint not null default 0,
    reserved_micros  bigint not null default 0 check (reserved_micros >= 0),
    updated_at       timestamptz not null default now()
);
create index key_budgets_updated_ix on key_budgets (updated_at);

-- Every credit (+) and charge (-), and the answer of every usage record (denied ones with 0).
-- Idempotency: one row per request id, one credit per (account, reference).
create table ledger (
    id              bigint generated always as identity primary key,
    account         varchar(255) not null,
    key_id          varchar(64),
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
-- plain (not partial) unique indexes: NULLs never conflict, and joins on request_id can use them
create unique index ledger_request_uq on ledger (request_id);
create unique index ledger_credit_reference_uq on ledger (account, reference);
create index ledger_account_time_ix on ledger (account, created_at);

-- Reservations made by authorize (requestId + estimatedCostUsd), settled by the usage record or
-- expired by the sweeper after kw.holds.ttl.
create table holds (
    request_id      varchar(128) primary key,
    key_id          varchar(64) not null,
    account         varchar(255) not null,
    amount_micros   bigint not null check (amount_micros >= 0),
    expires_at      timestamptz not null
);
create index holds_expiry_ix on holds (expires_at);

-- Threshold events already decided (80/95/100 % per scope and period): sent once.
create table threshold_marks (
    scope           varchar(16) not null,
    subject         varchar(255) not null,
    percent         int not null,
    period          varchar(32) not null,
    primary key (scope, subject, percent, period)
);
