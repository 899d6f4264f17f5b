package io.keywarden.key.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * What a create costs in PostgreSQL must not depend on when the pooled connection first planned
 * kw_create_key. PL/pgSQL caches each statement's plan per connection; V3's name check was a query,
 * and a connection that planned it while api_keys was small and never analyzed read every key of
 * the account on each later create (the key-create bench's slow runs: PostgreSQL CPU per create
 * doubled, p99 61-104 ms). The scenario is rebuilt in a scratch schema whose tables are new (never
 * analyzed, autovacuum off): the function is called while the table holds 300 keys, the table then
 * grows to 100,000 keys, and the next create on that connection is measured in buffers.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class CreatePlanTests {
  private static final List<String> TABLES =
      List.of("key_policy", "key_groups", "api_keys", "account_key_counts", "outbox");

  @Test
  void aCreateOnAConnectionThatPlannedWhileTheTableWasSmallStaysCheap() throws Exception {
    String schema = "plan_probe_" + UUID.randomUUID().toString().substring(0, 8);
    try (Connection c = Kw.db();
        Statement st = c.createStatement()) {
      st.execute("create schema " + schema);
      try {
        for (String t : TABLES) {
          st.execute("create table " + schema + "." + t + " (like public." + t + " including all)");
          st.execute("alter table " + schema + "." + t + " set (autovacuum_enabled = false)");
        }
        st.execute("insert into " + schema + ".key_policy select * from public.key_policy");
        st.execute("insert into " + schema + ".key_groups select * from public.key_groups");
        st.execute("set search_path = " + schema + ", public");
        addKeys(st, 1, 300);
        for (int i = 0; i < 8; i++) {
          assertThat(create(st, "early " + i, "")).isEqualTo("ok");
        }
        addKeys(st, 301, 100_000);
        long buffers = Kw.buffers(st, call("late", ""));
        // the unique index's probe and the inserts: ~100 buffers; V3's cached plan read the
        // account's ~3,100 keys (2,600+ buffers) on every create
        assertThat(buffers).as("buffers of one create").isLessThan(600);
        // and the name check still refuses a taken name, whatever its case
        assertThat(create(st, "LATE", "")).isEqualTo("name");
        assertThat(create(st, "key 33", "")).isEqualTo("name");
      } finally {
        st.execute("set search_path = public");
        st.execute("drop schema " + schema + " cascade");
      }
    }
  }

  /** Keys {@code from..to} spread over 32 accounts (acct-0 .. acct-31), as the bench's callers. */
  private static void addKeys(Statement st, int from, int to) throws Exception {
    st.execute(
        "insert into api_keys (id, account, name, group_name, status, key_hash, mask, created_at,"
            + " updated_at, version) select gen_random_uuid(), 'acct-' || (i % 32), 'key ' || i,"
            + " 'default', 'active', md5(i::text) || md5(i::text || 'x'), 'sk-kw-Ab...Cd', now(),"
            + " now(), 1 from generate_series("
            + from
            + ", "
            + to
            + ") i");
  }

  private static String call(String name, String customHash) {
    String hash = UUID.randomUUID().toString().replace("-", "");
    return "select * from kw_create_key(null::integer, null::bigint, null::bigint, null::bigint,"
        + " 1000000, now(), lower('"
        + name
        + "'), '"
        + customHash
        + "', gen_random_uuid(), 'acct-1', '"
        + name
        + "', 'default', 'active', '"
        + hash
        + hash
        + "', 'sk-kw-Ab...Cd', false, '[]', 0, 'none', null, null, null, null, gen_random_uuid(),"
        + " 'plan-probe', 'acct-1', 'created', '{}', null)";
  }

  private static String create(Statement st, String name, String customHash) throws Exception {
    try (ResultSet rs = st.executeQuery(call(name, customHash))) {
      rs.next();
      return rs.getString("outcome");
    }
  }
}
