\set i random(1, 100000)
select key_id, account, status from bench_keys where hash = encode(sha256(:i::text::bytea), 'hex');
