-- the audit report reads keys in pages in its order (keyset pagination): one index scan per page
create index audit_keys_report_ix on audit_keys (account, created_at, key_id);
