package io.keywarden.key.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.keywarden.contracts.IpAllowList;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Money;
import io.keywarden.contracts.Unicode;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.key.config.KeyPolicy;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.domain.Json;
import io.keywarden.key.domain.KeyGroup;
import io.keywarden.key.domain.KeyPolicyRow;
import io.keywarden.key.outbox.Outbox;
import io.keywarden.key.outbox.OutboxRelay;
import io.keywarden.key.rest.KeyRequests.CreateKey;
import io.keywarden.support.rest.ApiProblem;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.panache.common.Page;
import io.quarkus.panache.common.Parameters;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;

/** The key lifecycle. Each change and its outbox event commit in one transaction. */
@ApplicationScoped
public class KeyService {
  static final Set<String> PATCHABLE =
      Set.of("name", "group", "allowedIps", "quotaUsd", "quotaReset", "rateLimit", "expiresAt");

  private final KeyPolicy policy;
  private final Outbox outbox;
  private final OutboxRelay relay;
  private final Clock clock;
  private final Pool pool;

  /**
   * How long the creating request owns its outbox row before the polling relay may take it: longer
   * than the producer's delivery timeout, so the relay only re-sends what the writer gave up on (or
   * never sent: a crash), not what is still on its way.
   */
  private final Duration fastPathClaim;

  /** Sends kw_create_key calls in batches: one round trip and one commit for many creates. */
  private final CreateBatcher batcher;

  KeyService(
      KeyPolicy policy,
      Outbox outbox,
      OutboxRelay relay,
      Clock clock,
      Pool pool,
      CreateBatcher batcher,
      @org.eclipse.microprofile.config.inject.ConfigProperty(
              name = "kw.outbox.claim",
              defaultValue = "PT30S")
          Duration fastPathClaim) {
    this.pool = pool;
    this.batcher = batcher;
    this.fastPathClaim = fastPathClaim;
    this.policy = policy;
    this.outbox = outbox;
    this.relay = relay;
    this.clock = clock;
  }

  /** A created or rotated key with its secret, which exists only in this answer. */
  public record WithSecret(ApiKey key, String secret, List<String> groupModels) {
    public WithSecret(ApiKey key, String secret) {
      this(key, secret, null);
    }
  }

  public record Listing(List<ApiKey> items, long total, int page, int size) {}

  public record ListQuery(
      String account, String status, String group, String q, String sort, int page, int size) {}

  // ---------------------------------------------------------------- create

  public Uni<WithSecret> create(String account, CreateKey req) {
    if (req == null) {
      throw ApiProblem.badRequest(null, "a JSON body is required");
    }
    Instant now = clock.instant();
    String name = validName(req.name());
    String groupName = required("group", req.group());
    List<String> ips = allowedIps(req.allowedIps());
    long quota = quota(req.quotaUsd());
    String reset = quotaReset(req.quotaReset());
    RateLimit rl = rateLimit(req.rateLimit());
    Instant requestedExpiry = expiry(req.expiresAt(), req.expiresIn(), now);
    String expiryField = req.expiresIn() != null ? "expiresIn" : "expiresAt";
    String secret;
    boolean custom = req.customKey() != null;
    if (custom) {
      secret = req.customKey();
      CustomKeyRules.check(secret)
          .ifPresent(
              r -> {
                throw ApiProblem.badRequest("customKey", r);
              });
    } else {
      secret = KeyFormat.generate(policy.prefix());
    }
    String hash = KeyFormat.sha256Hex(secret);

    Prepared p =
        new Prepared(
            account,
            name,
            groupName,
            ips,
            quota,
            req.quotaUsd() != null,
            reset,
            rl,
            requestedExpiry,
            expiryField,
            secret,
            hash,
            custom,
            now);
    KeyPolicyRow known = knownPolicy;
    return known != null
        ? tryCreate(p, known, false, 0)
        : freshPolicy().chain(row -> tryCreate(p, row, true, 0));
  }

  /** A create request, validated; what it becomes depends on the policy in force. */
  private record Prepared(
      String account,
      String name,
      String group,
      List<String> ips,
      long quota,
      boolean quotaGiven,
      String reset,
      RateLimit rateLimit,
      Instant requestedExpiry,
      String expiryField,
      String secret,
      String hash,
      boolean custom,
      Instant now) {

    ApiKey toKey(EffectivePolicy pol) {
      long q = quota;
      if (!quotaGiven && pol.maxQuotaMicros().isPresent()) {
        q = pol.maxQuotaMicros().get(); // under a cap, the cap is the default
      }
      checkQuotaCap(q, pol);
      ApiKey k = new ApiKey();
      k.id = UUID.randomUUID();
      k.account = account;
      k.name = name;
      k.group = group;
      k.status = KeyStatus.ACTIVE.wire();
      k.keyHash = hash;
      k.mask = KeyFormat.mask(secret);
      k.custom = custom;
      k.allowedIpsJson = ips.isEmpty() ? "[]" : Json.write(ips);
      k.quotaMicros = q;
      k.quotaReset = reset;
      k.requestsPerMinute = rateLimit.requestsPerMinute();
      k.tokensPerMinute = rateLimit.tokensPerMinute();
      k.concurrentRequests = rateLimit.concurrentRequests();
      k.expiresAt = lifetime(requestedExpiry, expiryField, pol, true, now);
      k.createdAt = now;
      k.updatedAt = now;
      k.version = 1;
      return k;
    }
  }

  /** The operator's policy row as this instance last read it (null until the first create). */
  private volatile KeyPolicyRow knownPolicy;

  private Uni<KeyPolicyRow> freshPolicy() {
    return pool.preparedQuery(
            "select max_live_keys_per_account, max_quota_micros, max_lifetime_seconds,"
                + " default_lifetime_seconds from key_policy where id = 1")
        .execute()
        .map(rows -> remember(rows.iterator().next()));
  }

  private KeyPolicyRow remember(Row r) {
    KeyPolicyRow row = policyRow(r);
    knownPolicy = row;
    return row;
  }

  /**
   * One call of {@code kw_create_key} (V3), sent with other creates' calls by {@link CreateBatcher}
   * (one round trip and one commit for all of them), checks and writes the key and its outbox row
   * in one statement, or writes nothing and says why. The policy row this instance holds is
   * compared with the stored one; a stale one is replaced and the create tried again. A cap
   * violation found with a policy read earlier is confirmed against a fresh read before it is
   * reported.
   */
  private Uni<WithSecret> tryCreate(Prepared p, KeyPolicyRow known, boolean fresh, int attempt) {
    if (attempt > 3) {
      throw ApiProblem.conflict(
          "policy", "the operator policy changed during the create; send the request again");
    }
    EffectivePolicy pol = EffectivePolicy.of(policy, known);
    ApiKey k;
    try {
      k = p.toKey(pol);
    } catch (ApiProblem e) {
      if (fresh) {
        throw e;
      }
      return freshPolicy().chain(f -> tryCreate(p, f, true, attempt + 1));
    }
    Outbox.Pending ev = outbox.pendingKeyEvent(KeyEventType.CREATED, k, p.now());
    OffsetDateTime now = p.now().atOffset(ZoneOffset.UTC);
    return batcher
        .create(
            k.account,
            Tuple.tuple(
                java.util.Arrays.asList(
                    known.maxLiveKeysPerAccount,
                    known.maxQuotaMicros,
                    known.maxLifetimeSeconds,
                    known.defaultLifetimeSeconds,
                    pol.maxLiveKeysPerAccount(),
                    now,
                    p.name().toLowerCase(Locale.ROOT),
                    p.custom() ? p.hash() : "",
                    k.id,
                    k.account,
                    k.name,
                    k.group,
                    k.status,
                    k.keyHash,
                    k.mask,
                    k.custom,
                    k.allowedIpsJson,
                    k.quotaMicros,
                    k.quotaReset,
                    k.requestsPerMinute,
                    k.tokensPerMinute,
                    k.concurrentRequests,
                    k.expiresAt == null ? null : k.expiresAt.atOffset(ZoneOffset.UTC),
                    ev.eventId(),
                    ev.topic(),
                    ev.recordKey(),
                    ev.type(),
                    ev.payload(),
                    now.plus(fastPathClaim))))
        .chain(
            r -> {
              switch (r.getString("outcome")) {
                case "ok" -> {
                  relay.publishCommitted(r.getLong("outbox_seq"), ev);
                  List<String> models = modelIds(r.getString("models_json"));
                  return Uni.createFrom().item(new WithSecret(k, p.secret(), models));
                }
                case "policy" -> {
                  return tryCreate(p, remember(r), true, attempt + 1);
                }
                case "group" ->
                    throw ApiProblem.badRequest(
                        "group", "'" + safe(p.group()) + "' does not exist or is disabled");
                case "live" ->
                    throw ApiProblem.conflict(
                        "maxLiveKeysPerAccount",
                        "reached: this account already has "
                            + r.getLong("live")
                            + " live keys (the cap is "
                            + pol.maxLiveKeysPerAccount()
                            + "); revoke one first");
                case "name" ->
                    throw ApiProblem.conflict(
                        "name", "is already used by another key of this account");
                case "hash" ->
                    throw ApiProblem.conflict(
                        "customKey",
                        "is already in use; choose another or let Keywarden generate one");
                default -> throw new IllegalStateException("kw_create_key: " + r.getString(0));
              }
            });
  }

  /** Model ids by the group's models_json text: parsed once per text, not per create. */
  private final java.util.concurrent.ConcurrentHashMap<String, List<String>> modelIds =
      new java.util.concurrent.ConcurrentHashMap<>();

  private List<String> modelIds(String modelsJson) {
    List<String> ids = modelIds.get(modelsJson);
    if (ids == null) {
      ids =
          Json.readModels(modelsJson).stream()
              .map(io.keywarden.contracts.events.ModelPrice::id)
              .toList();
      if (modelIds.size() >= 256) {
        modelIds.clear(); // groups changed many times: start over
      }
      modelIds.put(modelsJson, ids);
    }
    return ids;
  }

  private static KeyPolicyRow policyRow(Row r) {
    KeyPolicyRow p = new KeyPolicyRow();
    p.maxLiveKeysPerAccount = r.getInteger("max_live_keys_per_account");
    p.maxQuotaMicros = r.getLong("max_quota_micros");
    p.maxLifetimeSeconds = r.getLong("max_lifetime_seconds");
    p.defaultLifetimeSeconds = r.getLong("default_lifetime_seconds");
    return p;
  }

  // ---------------------------------------------------------------- reads

  @WithSession
  public Uni<ApiKey> get(String account, UUID id) {
    return find(account, id);
  }

  @WithSession
  public Uni<Listing> list(ListQuery q) {
    StringBuilder where = new StringBuilder("1 = 1");
    Parameters p = new Parameters();
    Instant now = clock.instant();
    if (q.account() != null) {
      where.append(" and account = :account");
      p.and("account", q.account());
    }
    if (q.status() != null) {
      KeyStatus s =
          parseEnum(
              "status",
              q.status(),
              KeyStatus::fromWire,
              "active, disabled, expired, revoked, leaked");
      switch (s) {
        case ACTIVE, DISABLED -> {
          where.append(" and status = :status and (expiresAt is null or expiresAt > :now)");
          p.and("status", s.wire()).and("now", now);
        }
        case EXPIRED -> {
          where.append(" and status in ('active','disabled') and expiresAt <= :now");
          p.and("now", now);
        }
        default -> {
          where.append(" and status = :status");
          p.and("status", s.wire());
        }
      }
    }
    if (q.group() != null) {
      where.append(" and group = :group");
      p.and("group", q.group());
    }
    if (q.q() != null && !q.q().isBlank()) {
      if (q.q().length() > 64) {
        throw ApiProblem.badRequest("q", "must be at most 64 characters");
      }
      String like =
          "%"
              + q.q()
                  .trim()
                  .toLowerCase(Locale.ROOT)
                  .replace("\\", "\\\\")
                  .replace("%", "\\%")
                  .replace("_", "\\_")
              + "%";
      where.append(" and lower(name) like :q escape '\\'");
      p.and("q", like);
    }
    Sort sort =
        switch (q.sort() == null ? "-created" : q.sort()) {
          case "created" -> Sort.ascending("createdAt", "id");
          case "-created" -> Sort.descending("createdAt", "id");
          case "lastUsed" ->
              Sort.by("lastUsedAt", Sort.Direction.Ascending, Sort.NullPrecedence.NULLS_FIRST)
                  .and("id");
          case "-lastUsed" ->
              Sort.by("lastUsedAt", Sort.Direction.Descending, Sort.NullPrecedence.NULLS_LAST)
                  .and("id");
          default ->
              throw ApiProblem.badRequest(
                  "sort", "must be one of created, -created, lastUsed, -lastUsed");
        };
    var query = ApiKey.<ApiKey>find(where.toString(), sort, p);
    return query
        .page(Page.of(q.page(), q.size()))
        .list()
        .chain(items -> query.count().map(total -> new Listing(items, total, q.page(), q.size())));
  }

  // ---------------------------------------------------------------- changes

  public Uni<ApiKey> patch(String account, UUID id, JsonNode body) {
    if (body == null || !body.isObject()) {
      throw ApiProblem.badRequest(null, "the body must be a JSON object");
    }
    ObjectNode o = (ObjectNode) body;
    Iterator<String> names = o.fieldNames();
    while (names.hasNext()) {
      String f = names.next();
      if (!PATCHABLE.contains(f)) {
        throw ApiProblem.badRequest(
            f,
            "cannot be changed; changeable fields are "
                + String.join(", ", PATCHABLE.stream().sorted().toList()));
      }
    }
    if (o.isEmpty()) {
      throw ApiProblem.badRequest(null, "no field to change");
    }
    Instant now = clock.instant();
    // validate everything before touching the database: nothing half-written
    String name = o.has("name") ? validName(text(o, "name")) : null;
    String group = o.has("group") ? required("group", text(o, "group")) : null;
    List<String> ips = o.has("allowedIps") ? allowedIps(stringList(o, "allowedIps")) : null;
    Long quota = o.has("quotaUsd") ? quota(text(o, "quotaUsd")) : null;
    String reset = o.has("quotaReset") ? quotaReset(text(o, "quotaReset")) : null;
    RateLimit rl = null;
    if (o.has("rateLimit")) {
      try {
        rl =
            o.get("rateLimit").isNull()
                ? RateLimit.NONE
                : rateLimit(EventCodec.mapper().treeToValue(o.get("rateLimit"), RateLimit.class));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw ApiProblem.badRequest(
            "rateLimit",
            "must be an object with requestsPerMinute, tokensPerMinute, concurrentRequests");
      }
    }
    boolean setExpiry = o.has("expiresAt");
    Instant requestedExpiry = setExpiry ? expiry(text(o, "expiresAt"), null, now) : null;
    final RateLimit rateLimit = rl;
    return Panache.withTransaction(
            () ->
                policy()
                    .invoke(
                        pol -> {
                          if (quota != null) {
                            checkQuotaCap(quota, pol);
                          }
                        })
                    .chain(
                        pol ->
                            find(account, id)
                                .invoke(
                                    k -> {
                                      requireChangeable(k, now);
                                      if (setExpiry) {
                                        k.expiresAt =
                                            lifetime(requestedExpiry, "expiresAt", pol, false, now);
                                      }
                                    }))
                    .call(
                        k ->
                            group == null
                                ? Uni.createFrom().voidItem()
                                : enabledGroup(group).replaceWithVoid())
                    .call(
                        k ->
                            name == null
                                ? Uni.createFrom().voidItem()
                                : nameTaken(k.account, name, k.id))
                    .call(
                        k -> {
                          if (name != null) k.name = name;
                          if (group != null) k.group = group;
                          if (ips != null) k.allowedIpsJson = Json.write(ips);
                          if (quota != null) k.quotaMicros = quota;
                          if (reset != null) k.quotaReset = reset;
                          if (rateLimit != null) {
                            k.requestsPerMinute = rateLimit.requestsPerMinute();
                            k.tokensPerMinute = rateLimit.tokensPerMinute();
                            k.concurrentRequests = rateLimit.concurrentRequests();
                          }
                          return changed(k, KeyEventType.UPDATED, now);
                        }))
        .invoke(relay::wake);
  }

  public Uni<ApiKey> disable(String account, UUID id) {
    return setStatus(account, id, KeyStatus.DISABLED, KeyEventType.DISABLED);
  }

  public Uni<ApiKey> enable(String account, UUID id) {
    return setStatus(account, id, KeyStatus.ACTIVE, KeyEventType.ENABLED);
  }

  /** Disable / enable: only for keys that can still change; a no-op (no event) when already so. */
  private Uni<ApiKey> setStatus(String account, UUID id, KeyStatus to, KeyEventType type) {
    return transition(
        account,
        id,
        type,
        (k, now) -> {
          requireChangeable(k, now);
          if (k.storedStatus() == to) {
            return false;
          }
          k.status = to.wire();
          return true;
        });
  }

  public Uni<ApiKey> revoke(String account, UUID id) {
    return transition(
        account,
        id,
        KeyEventType.REVOKED,
        (k, now) -> {
          if (k.storedStatus() == KeyStatus.REVOKED) {
            return false;
          }
          k.status = KeyStatus.REVOKED.wire();
          k.revokedAt = now;
          k.previousKeyHash = null;
          k.previousKeyExpiresAt = null;
          return true;
        });
  }

  public Uni<ApiKey> reportLeaked(String account, UUID id) {
    return transition(
        account,
        id,
        KeyEventType.LEAKED,
        (k, now) -> {
          if (k.storedStatus() == KeyStatus.LEAKED) {
            return false;
          }
          if (k.storedStatus() == KeyStatus.REVOKED) {
            throw ApiProblem.conflict(
                "status", "is revoked: a revoked key is already refused everywhere");
          }
          k.status = KeyStatus.LEAKED.wire();
          k.previousKeyHash = null;
          k.previousKeyExpiresAt = null;
          return true;
        });
  }

  /** Marks every key (current or overlapping old secret) with one of these hashes as leaked. */
  public Uni<Set<String>> markLeakedByHash(Set<String> hashes) {
    if (hashes.isEmpty()) {
      return Uni.createFrom().item(Set.of());
    }
    Instant now = clock.instant();
    return Panache.withTransaction(
            () ->
                ApiKey.<ApiKey>list("keyHash in ?1 or previousKeyHash in ?1", hashes)
                    .call(
                        keys -> {
                          Uni<Void> chain = Uni.createFrom().voidItem();
                          for (ApiKey k : keys) {
                            if (k.storedStatus() != KeyStatus.LEAKED) {
                              k.status = KeyStatus.LEAKED.wire();
                              k.previousKeyHash = null;
                              k.previousKeyExpiresAt = null;
                              chain =
                                  chain.chain(
                                      () -> changed(k, KeyEventType.LEAKED, now).replaceWithVoid());
                            }
                          }
                          return chain;
                        })
                    .map(
                        keys -> {
                          Set<String> matched = new java.util.HashSet<>();
                          for (ApiKey k : keys) {
                            matched.add(k.keyHash);
                          }
                          return matched;
                        }))
        .invoke(relay::wake);
  }

  /** Which of these hashes belong to a key (current or overlapping old secret). */
  public Uni<Set<String>> knownHashes(Set<String> hashes) {
    if (hashes.isEmpty()) {
      return Uni.createFrom().item(Set.of());
    }
    // chunks keep each query well under PostgreSQL's bind-parameter limit
    List<List<String>> chunks = new ArrayList<>();
    List<String> all = new ArrayList<>(hashes);
    for (int i = 0; i < all.size(); i += 5_000) {
      chunks.add(all.subList(i, Math.min(all.size(), i + 5_000)));
    }
    Set<String> known = new java.util.HashSet<>();
    Uni<Void> chain = Uni.createFrom().voidItem();
    for (List<String> chunk : chunks) {
      chain =
          chain.chain(
              () ->
                  Panache.withSession(
                          () ->
                              ApiKey.<ApiKey>list("keyHash in ?1 or previousKeyHash in ?1", chunk))
                      .invoke(
                          keys -> {
                            for (ApiKey k : keys) {
                              if (hashes.contains(k.keyHash)) known.add(k.keyHash);
                              if (k.previousKeyHash != null && hashes.contains(k.previousKeyHash)) {
                                known.add(k.previousKeyHash);
                              }
                            }
                          })
                      .replaceWithVoid());
    }
    return chain.map(v -> known);
  }

  public Uni<WithSecret> rotate(String account, UUID id, String overlapText) {
    Duration overlap = Duration.ZERO;
    if (overlapText != null) {
      overlap = duration("overlap", overlapText);
      if (overlap.isNegative()) {
        throw ApiProblem.badRequest("overlap", "must not be negative");
      }
      if (overlap.compareTo(policy.maxRotationOverlap()) > 0) {
        throw ApiProblem.badRequest(
            "overlap", "must be at most " + policy.maxRotationOverlap().toDays() + " days");
      }
    }
    String secret = KeyFormat.generate(policy.prefix());
    String hash = KeyFormat.sha256Hex(secret);
    Duration ov = overlap;
    Instant now = clock.instant();
    return Panache.withTransaction(
            () ->
                find(account, id)
                    .invoke(k -> requireChangeable(k, now))
                    .chain(
                        k -> {
                          if (ov.isZero()) {
                            k.previousKeyHash = null;
                            k.previousKeyExpiresAt = null;
                          } else {
                            k.previousKeyHash = k.keyHash;
                            k.previousKeyExpiresAt = now.plus(ov);
                          }
                          k.keyHash = hash;
                          k.mask = KeyFormat.mask(secret);
                          k.custom = false;
                          k.rotatedAt = now;
                          return changed(k, KeyEventType.ROTATED, now);
                        })
                    .map(k -> new WithSecret(k, secret)))
        .invoke(relay::wake);
  }

  /** Checks a secret given to render the Use-key configs against the key's hash. */
  public static boolean secretMatches(ApiKey k, String secret) {
    return secret != null && KeyFormat.hashesEqual(k.keyHash, KeyFormat.sha256Hex(secret));
  }

  // ---------------------------------------------------------------- helpers

  @FunctionalInterface
  interface Transition {
    /** Applies the change; false when there is nothing to do (no event). */
    boolean apply(ApiKey k, Instant now);
  }

  private Uni<ApiKey> transition(String account, UUID id, KeyEventType type, Transition t) {
    Instant now = clock.instant();
    return Panache.withTransaction(
            () ->
                find(account, id)
                    .chain(k -> t.apply(k, now) ? changed(k, type, now) : Uni.createFrom().item(k)))
        .invoke(relay::wake);
  }

  private Uni<ApiKey> changed(ApiKey k, KeyEventType type, Instant now) {
    k.updatedAt = now;
    k.version++;
    return outbox.keyEvent(type, k).replaceWith(k);
  }

  private static void requireChangeable(ApiKey k, Instant now) {
    KeyStatus s = k.effectiveStatus(now);
    if (s == KeyStatus.REVOKED || s == KeyStatus.LEAKED || s == KeyStatus.EXPIRED) {
      throw ApiProblem.conflict("status", "is " + s.wire() + ": this key can no longer be changed");
    }
  }

  /** Another account's key is a 404, exactly as an unknown id. account null = any (admin). */
  private Uni<ApiKey> find(String account, UUID id) {
    Uni<ApiKey> u = ApiKey.findById(id);
    return u.map(
        k -> {
          if (k == null || (account != null && !account.equals(k.account))) {
            throw ApiProblem.notFound("key " + id);
          }
          return k;
        });
  }

  private Uni<KeyGroup> enabledGroup(String name) {
    Uni<KeyGroup> u = KeyGroup.findById(name);
    return u.map(
        g -> {
          if (g == null || !g.enabled) {
            throw ApiProblem.badRequest(
                "group", "'" + safe(name) + "' does not exist or is disabled");
          }
          return g;
        });
  }

  private Uni<Void> nameTaken(String account, String name, UUID except) {
    return ApiKey.count(
            "account = ?1 and lower(name) = ?2 and status <> 'revoked' and id <> ?3",
            account,
            name.toLowerCase(Locale.ROOT),
            except == null ? new UUID(0, 0) : except)
        .invoke(
            n -> {
              if (n > 0) {
                throw ApiProblem.conflict("name", "is already used by another key of this account");
              }
            })
        .replaceWithVoid();
  }

  static String validName(String raw) {
    if (raw == null) {
      throw ApiProblem.badRequest("name", "is required");
    }
    String n = raw.strip();
    if (n.isEmpty() || n.length() > 64) {
      throw ApiProblem.badRequest("name", "must be 1 to 64 characters after trimming");
    }
    if (n.codePoints()
        .anyMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT)) {
      throw ApiProblem.badRequest("name", "must not contain control characters");
    }
    return n;
  }

  private static String required(String field, String v) {
    if (v == null || v.isBlank()) {
      throw ApiProblem.badRequest(field, "is required");
    }
    if (v.length() > 64) {
      throw ApiProblem.badRequest(field, "must be at most 64 characters");
    }
    return v.strip();
  }

  private static List<String> allowedIps(List<String> raw) {
    try {
      return IpAllowList.normalise(raw);
    } catch (IllegalArgumentException e) {
      throw ApiProblem.badRequest("allowedIps", e.getMessage());
    }
  }

  private static long quota(String usd) {
    if (usd == null) {
      return 0;
    }
    long v;
    try {
      v = Money.parseUsd(usd);
    } catch (IllegalArgumentException e) {
      throw ApiProblem.badRequest("quotaUsd", e.getMessage());
    }
    return v;
  }

  private static String quotaReset(String raw) {
    if (raw == null) {
      return QuotaReset.NONE.wire();
    }
    return parseEnum("quotaReset", raw, QuotaReset::fromWire, "none, daily, weekly, monthly")
        .wire();
  }

  static RateLimit rateLimit(RateLimit rl) {
    if (rl == null) {
      return RateLimit.NONE;
    }
    positive("rateLimit.requestsPerMinute", rl.requestsPerMinute());
    positive("rateLimit.tokensPerMinute", rl.tokensPerMinute());
    positive("rateLimit.concurrentRequests", rl.concurrentRequests());
    return rl;
  }

  private static void positive(String field, Integer v) {
    if (v != null && (v <= 0 || v > 100_000_000)) {
      throw ApiProblem.badRequest(field, "must be a positive integer up to 100000000");
    }
  }

  /** Parses expiresAt / expiresIn; caps are applied by {@link #lifetime}. */
  private static Instant expiry(String at, String in, Instant now) {
    if (at != null && in != null) {
      throw ApiProblem.badRequest("expiresIn", "cannot be given together with expiresAt");
    }
    Instant result = null;
    String field = "expiresAt";
    if (at != null) {
      try {
        result = java.time.OffsetDateTime.parse(at).toInstant();
      } catch (DateTimeParseException e) {
        throw ApiProblem.badRequest(
            "expiresAt", "must be an RFC 3339 instant such as 2027-01-31T00:00:00Z");
      }
    } else if (in != null) {
      field = "expiresIn";
      result = plus(now, duration("expiresIn", in));
    }
    if (result != null && !result.isAfter(now)) {
      throw ApiProblem.badRequest(field, "must be in the future");
    }
    if (result != null && !result.isBefore(LAST_EXPIRY)) {
      // RFC 3339 years have four digits; beyond them PostgreSQL would store 'infinity' and every
      // consumer of the event would have to read a year like +999999999
      throw ApiProblem.badRequest(field, "must be before the year 10000");
    }
    return result;
  }

  /** The first instant an expiry may not reach: 10000-01-01T00:00:00Z. */
  static final Instant LAST_EXPIRY = Instant.parse("+10000-01-01T00:00:00Z");

  /** Applies the default lifetime and the maxLifetime cap. */
  private static Instant lifetime(
      Instant requested, String field, EffectivePolicy pol, boolean isCreate, Instant now) {
    Instant result = requested;
    if (result == null && isCreate && pol.defaultLifetime().isPresent()) {
      result = now.plus(pol.defaultLifetime().get());
    }
    if (pol.maxLifetime().isPresent()) {
      Instant max = now.plus(pol.maxLifetime().get());
      if (result == null) {
        if (!isCreate) {
          throw ApiProblem.badRequest(
              field,
              "cannot be removed: the cap maxLifetime = "
                  + pol.maxLifetime().get()
                  + " requires an expiry");
        }
        result = max;
      } else if (result.isAfter(max)) {
        throw ApiProblem.badRequest(
            field, "is beyond the cap maxLifetime = " + pol.maxLifetime().get());
      }
    }
    return result;
  }

  private static void checkQuotaCap(long quota, EffectivePolicy pol) {
    if (pol.maxQuotaMicros().isPresent()) {
      long max = pol.maxQuotaMicros().get();
      if (quota == 0 || quota > max) {
        throw ApiProblem.badRequest(
            "quotaUsd",
            "must be between 0.000001 and the cap maxQuotaUsd = "
                + Money.formatUsd(max)
                + " (0 = unlimited is not allowed under a cap)");
      }
    }
  }

  /** The caps and defaults in force (the operator's row over the configuration). */
  public Uni<EffectivePolicy> policy() {
    return Panache.withSession(() -> KeyPolicyRow.<KeyPolicyRow>findById(1))
        .map(row -> EffectivePolicy.of(policy, row));
  }

  private static Instant plus(Instant now, Duration d) {
    try {
      return now.plus(d);
    } catch (ArithmeticException | java.time.DateTimeException e) {
      throw ApiProblem.badRequest("expiresIn", "is too long");
    }
  }

  /** ISO-8601 duration: PT12H, P30D, or a period such as P1M / P1Y (from now, UTC). */
  static Duration duration(String field, String text) {
    if (text.length() > 32) {
      throw ApiProblem.badRequest(field, "must be an ISO-8601 duration such as P30D or PT12H");
    }
    try {
      return Duration.parse(text);
    } catch (DateTimeParseException e) {
      try {
        Period p = Period.parse(text);
        Instant now = Instant.now();
        return Duration.between(now, now.atZone(ZoneOffset.UTC).plus(p).toInstant());
      } catch (ArithmeticException | java.time.DateTimeException e2) {
        throw ApiProblem.badRequest(field, "must be an ISO-8601 duration such as P30D or PT12H");
      }
    } catch (ArithmeticException e) {
      throw ApiProblem.badRequest(field, "is too long");
    }
  }

  static <T> T parseEnum(
      String field, String raw, java.util.function.Function<String, T> f, String allowed) {
    try {
      return f.apply(raw.trim());
    } catch (IllegalArgumentException e) {
      throw ApiProblem.badRequest(field, "must be one of " + allowed);
    }
  }

  private static String text(ObjectNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw ApiProblem.badRequest(field, "must be a string");
    }
    return storable(field, n.asText());
  }

  private static String storable(String field, String s) {
    String problem = Unicode.problem(s);
    if (problem != null) {
      throw ApiProblem.badRequest(field, problem);
    }
    return s;
  }

  private static List<String> stringList(ObjectNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw ApiProblem.badRequest(field, "must be an array of strings");
    }
    if (n.size() > IpAllowList.MAX_ENTRIES) {
      throw ApiProblem.badRequest(
          field,
          "has " + n.size() + " entries; at most " + IpAllowList.MAX_ENTRIES + " are allowed");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw ApiProblem.badRequest(field, "must be an array of strings");
      }
      out.add(storable(field, e.asText()));
    }
    return out;
  }

  /** A user-given value fit to echo in an error: short, printable. */
  static String safe(String v) {
    String s = v.length() > 64 ? v.substring(0, 64) + "…" : v;
    return s.replaceAll("[^\\p{Print}]", "?");
  }
}
