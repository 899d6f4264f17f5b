-- Operator-set caps and defaults for keys (one row). NULL = fall back to the configuration.
create table key_policy (
    id                         integer primary key check (id = 1),
    max_live_keys_per_account  integer,
    max_quota_micros           bigint,
    max_lifetime_seconds       bigint,
    default_lifetime_seconds   bigint,
    updated_at                 timestamptz not null,
    updated_by                 varchar(255)
);
insert into key_policy (id, updated_at) values (1, now());
