-- Groups: the model route / plan of a key (its models and their prices).
create table key_groups (
    name         varchar(64) primary key,
    description  varchar(500) not null default '',
    enabled      boolean not null default true,
    models_json  text not null,
    created_at   timestamptz not null,
    updated_at   timestamptz not null,
    version      bigint not null
);

-- Keys: only the SHA-256 of a secret is stored, never the secret.
create table api_keys (
    id                       uuid primary key,
    account                  varchar(255) not null,
    name                     varchar(64) not null,
    group_name               varchar(64) not null references key_groups (name),
    status                   varchar(16) not null,
    key_hash                 varchar(64) not null,
    mask                     varchar(32) not null,
    custom                   boolean not null default false,
    previous_key_hash        varchar(64),
    previous_key_expires_at  timestamptz,
    allowed_ips              text not null default '[]',
    quota_micros             bigint not null default 0,
    quota_reset              varchar(16) not null default 'none',
    requests_per_minute      integer,
    tokens_per_minute        integer,
    concurrent_requests      integer,
    expires_at               timestamptz,
    created_at               timestamptz not null,
    updated_at               timestamptz not null,
    rotated_at               timestamptz,
    revoked_at               timestamptz,
    last_used_at             timestamptz,
    last_used_ip             varchar(64),
    spent_micros             bigint not null default 0,
    usage_as_of              timestamptz,
    version                  bigint not null
);
create unique index api_keys_hash_uq on api_keys (key_hash);
create index api_keys_previous_hash_ix on api_keys (previous_key_hash) where previous_key_hash is not null;
-- a name is unique among an account's keys that are not revoked; revoking frees it
create unique index api_keys_account_name_uq on api_keys (account, lower(name)) where status <> 'revoked';
create index api_keys_account_created_ix on api_keys (account, created_at desc);

-- Transactional outbox: written in the same transaction as the change, published by the relay.
create table outbox (
    seq           bigint generated always as identity primary key,
    event_id      uuid not null unique,
    topic         varchar(128) not null,
    record_key    varchar(255) not null,
    event_type    varchar(64) not null,
    payload       text not null,
    created_at    timestamptz not null,
    published_at  timestamptz
);
create index outbox_unpublished_ix on outbox (seq) where published_at is null;

insert into key_groups (name, description, enabled, models_json, created_at, updated_at, version)
values ('default', 'Default plan: a small set of current models', true,
        '[{"id":"gpt-5.5","ownedBy":"openai","inputMicrosPerMillion":1250000,"outputMicrosPerMillion":10000000},' ||
        '{"id":"gpt-5.5-mini","ownedBy":"openai","inputMicrosPerMillion":250000,"outputMicrosPerMillion":2000000},' ||
        '{"id":"claude-sonnet-4-6","ownedBy":"anthropic","inputMicrosPerMillion":3000000,"outputMicrosPerMillion":15000000},' ||
        '{"id":"claude-haiku-4-5","ownedBy":"anthropic","inputMicrosPerMillion":1000000,"outputMicrosPerMillion":5000000},' ||
        '{"id":"claude-opus-4-8","ownedBy":"anthropic","inputMicrosPerMillion":15000000,"outputMicrosPerMillion":75000000}]',
        now(), now(), 1);
-- key-service republishes every group at start (consumers ignore versions they hold)
