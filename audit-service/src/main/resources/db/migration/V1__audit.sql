-- audit-service's own projection of keys, built from keywarden.key-events and usage-events only.
-- No secret and no hash of a secret is ever stored here.
create table audit_keys (
    key_id          varchar(64) primary key,
    account         varchar(255) not null,
    name            varchar(255) not null,
    group_name      varchar(64),
    status          varchar(16) not null,
    quota_micros    bigint not null default 0,
    quota_reset     varchar(16) not null default 'none',
    expires_at      timestamptz,
    created_at      timestamptz not null,
    updated_at      timestamptz,
    rotated_at      timestamptz,
    version         bigint not null,
    last_used_at    timestamptz,
    last_client_ip  varchar(64),
    spent_micros    bigint not null default 0,
    total_spend_micros bigint not null default 0,
    total_requests  bigint not null default 0,
    last_denied_at  timestamptz,
    last_denied_ip  varchar(64),
    -- the last quota threshold usage-service reported for the key or its account
    quota_event_scope    varchar(16),
    quota_event_percent  integer,
    quota_event_period   varchar(64),
    quota_event_at       timestamptz
);
create index audit_keys_account_ix on audit_keys (account);

-- usage events already applied (at-least-once delivery: a redelivered event id is skipped)
create table processed_events (
    event_id      varchar(64) primary key,
    processed_at  timestamptz not null
);

-- distinct client IPs and user agents of a key per UTC day, for OVER_SHARED
create table key_daily_usage (
    key_id             varchar(64) not null,
    day                date not null,
    max_window_ips     integer not null default 0,
    max_window_agents  integer not null default 0,
    primary key (key_id, day)
);
create table key_daily_ips (
    key_id  varchar(64) not null,
    day     date not null,
    ip      varchar(64) not null,
    primary key (key_id, day, ip)
);

-- findings: at most one unresolved finding per (key, type); period says which occurrence it is
create table findings (
    id           uuid primary key,
    key_id       varchar(64) not null,
    account      varchar(255) not null,
    type         varchar(32) not null,
    status       varchar(16) not null,
    period       varchar(64) not null,
    detail       varchar(1000) not null,
    opened_at    timestamptz not null,
    updated_at   timestamptz not null,
    acked_at     timestamptz,
    resolved_at  timestamptz
);
create unique index findings_one_unresolved_uq on findings (key_id, type) where status <> 'resolved';
create index findings_account_ix on findings (account, status);
create index findings_opened_ix on findings (opened_at);

-- alert settings per account
create table alert_settings (
    account              varchar(255) primary key,
    webhook_url          varchar(2000),
    webhook_secret       varchar(255),
    email                varchar(320),
    finding_types        varchar(500) not null,
    mode                 varchar(16) not null,
    auto_disable_stale   boolean not null default false,
    updated_at           timestamptz not null
);

-- one alert per (key or account, finding type, period, channel), enforced here, not in memory
create table alert_deliveries (
    id               uuid primary key,
    scope            varchar(300) not null,
    key_id           varchar(64),
    account          varchar(255) not null,
    finding_id       uuid,
    finding_type     varchar(32) not null,
    period           varchar(64) not null,
    channel          varchar(16) not null,
    status           varchar(16) not null,
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null,
    last_error       varchar(500),
    created_at       timestamptz not null,
    delivered_at     timestamptz,
    constraint alert_deliveries_once_uq unique (scope, finding_type, period, channel)
);
create index alert_deliveries_due_ix on alert_deliveries (next_attempt_at) where status = 'pending';
create index alert_deliveries_account_ix on alert_deliveries (account, created_at desc);
