-- kw_require(ok, what): true, or an error that aborts the transaction. The usage writer sends COMMIT
-- in the same round trip as its guarded updates, so a guard that refuses must roll the transaction
-- back on the server: the service only sees the answers after the COMMIT has run.
create or replace function kw_require(ok boolean, what text) returns boolean
language plpgsql volatile as $$
begin
  if not ok then
    raise exception '%', what using errcode = 'KW001';
  end if;
  return true;
end
$$;
