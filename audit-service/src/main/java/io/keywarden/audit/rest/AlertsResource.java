package io.keywarden.audit.rest;

import io.keywarden.audit.domain.AlertDelivery;
import io.keywarden.audit.domain.AlertSettings;
import io.keywarden.audit.findings.FindingType;
import io.keywarden.audit.rest.Views.DeliveryView;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * Alert settings of an account and the delivery log. A user reads and writes their own account; an
 * admin any account with {@code ?account=}.
 */
@Path("/api/audit")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
@RolesAllowed({"user", "admin"})
@Tag(name = "alerts")
public class AlertsResource {
  private final Caller caller;
  private final Clock clock;

  AlertsResource(Caller caller, Clock clock) {
    this.caller = caller;
    this.clock = clock;
  }

  /**
   * Alert settings. {@code webhookSecret} is write-only: reads say only whether one is set.
   *
   * @param findingTypes the types to alert on; empty = all
   * @param mode {@code immediate} or {@code daily} (one digest per day)
   * @param autoDisableStale disable STALE keys through key-service
   */
  public record Settings(
      String account,
      String webhookUrl,
      String webhookSecret,
      Boolean webhookSecretSet,
      String email,
      List<String> findingTypes,
      String mode,
      Boolean autoDisableStale) {
    static Settings of(String account, AlertSettings s) {
      if (s == null) {
        return new Settings(account, null, null, false, null, List.of(), "immediate", false);
      }
      return new Settings(
          s.account,
          s.webhookUrl,
          null,
          s.webhookSecret != null,
          s.email,
          s.findingTypes == null || s.findingTypes.isBlank()
              ? List.of()
              : List.of(s.findingTypes.split(",")),
          s.mode,
          s.autoDisableStale);
    }
  }

  @GET
  @Path("alert-settings")
  @Operation(summary = "The alert settings of your account (admin: ?account=)")
  public Uni<Settings> settings(@QueryParam("account") String account) {
    String acct = target(account);
    return Panache.withSession(
        () -> AlertSettings.<AlertSettings>findById(acct).map(s -> Settings.of(acct, s)));
  }

  @PUT
  @Path("alert-settings")
  @Operation(summary = "Replace the alert settings of your account (admin: ?account=)")
  public Uni<Settings> put(@QueryParam("account") String account, Settings body) {
    String acct = target(account);
    if (body == null) {
      throw ApiProblem.badRequest(null, "a JSON body is required");
    }
    if (body.account() != null && !body.account().equals(acct)) {
      throw ApiProblem.badRequest("account", "cannot be changed");
    }
    String url = webhookUrl(blankToNull(body.webhookUrl()));
    String secret = blankToNull(body.webhookSecret());
    if (secret != null && (secret.length() < 16 || secret.length() > 255)) {
      throw ApiProblem.badRequest("webhookSecret", "must be 16 to 255 characters");
    }
    if (secret != null && hasControl(secret)) {
      throw ApiProblem.badRequest("webhookSecret", "must not contain control characters");
    }
    String email = blankToNull(body.email());
    if (email != null
        && (email.length() > 320 || hasControl(email) || !email.matches("[^@\\s]+@[^@\\s]+"))) {
      throw ApiProblem.badRequest("email", "must be an email address");
    }
    String mode = body.mode() == null ? "immediate" : body.mode().trim().toLowerCase(Locale.ROOT);
    if (!AlertSettings.IMMEDIATE.equals(mode) && !AlertSettings.DAILY.equals(mode)) {
      throw ApiProblem.badRequest("mode", "must be immediate or daily");
    }
    // a set: the same type twice is the same setting (a list of 100 overflowed the column: a 503)
    Set<String> types = new LinkedHashSet<>();
    if (body.findingTypes() != null) {
      if (body.findingTypes().size() > MAX_FINDING_TYPES) {
        throw ApiProblem.badRequest(
            "findingTypes", "must have at most " + MAX_FINDING_TYPES + " entries");
      }
      for (int i = 0; i < body.findingTypes().size(); i++) {
        String t = body.findingTypes().get(i);
        try {
          types.add(FindingType.valueOf(t.trim().toUpperCase(Locale.ROOT)).name());
        } catch (RuntimeException e) {
          throw ApiProblem.badRequest(
              "findingTypes[" + i + "]", "must be one of " + List.of(FindingType.values()));
        }
      }
    }
    return Panache.withTransaction(
        () ->
            AlertSettings.<AlertSettings>findById(acct)
                .chain(
                    existing -> {
                      AlertSettings s = existing != null ? existing : new AlertSettings();
                      s.account = acct;
                      s.webhookUrl = url;
                      // an omitted secret keeps the stored one (it is never read back)
                      if (secret != null || url == null) {
                        s.webhookSecret = secret;
                      }
                      s.email = email;
                      s.findingTypes = String.join(",", types);
                      s.mode = mode;
                      s.autoDisableStale = Boolean.TRUE.equals(body.autoDisableStale());
                      s.updatedAt = clock.instant();
                      return (existing != null
                              ? Uni.createFrom().item(s)
                              : s.<AlertSettings>persist())
                          .map(x -> Settings.of(acct, s));
                    }));
  }

  @GET
  @Path("deliveries")
  @Operation(summary = "The alert delivery log, newest first (admin: all or ?account=)")
  public Uni<List<DeliveryView>> deliveries(
      @QueryParam("account") String account,
      @QueryParam("status") String status,
      @QueryParam("limit") String limit) {
    AuditResource.checkLength("account", account, AuditResource.MAX_ACCOUNT);
    String scope = caller.isAdmin() ? blankToNull(account) : target(account);
    int max = AuditResource.parseLimit(limit);
    StringBuilder q = new StringBuilder("1 = 1");
    io.quarkus.panache.common.Parameters p = new io.quarkus.panache.common.Parameters();
    if (scope != null) {
      q.append(" and account = :account");
      p = p.and("account", scope);
    }
    if (status != null && !status.isBlank()) {
      String s = status.trim().toLowerCase(Locale.ROOT);
      if (!List.of(AlertDelivery.PENDING, AlertDelivery.DELIVERED, AlertDelivery.FAILED)
          .contains(s)) {
        throw ApiProblem.badRequest("status", "must be pending, delivered or failed");
      }
      q.append(" and status = :status");
      p = p.and("status", s);
    }
    String query = q.toString();
    io.quarkus.panache.common.Parameters params = p;
    return Panache.withSession(
        () ->
            AlertDelivery.<AlertDelivery>find(
                    query, Sort.by("createdAt").descending().and("id"), params)
                .page(0, max)
                .list()
                .map(l -> l.stream().map(DeliveryView::of).toList()));
  }

  private String target(String account) {
    AuditResource.checkLength("account", account, AuditResource.MAX_ACCOUNT);
    String own = caller.account();
    if (account == null || account.isBlank() || account.trim().equals(own)) {
      return own;
    }
    if (caller.isAdmin()) {
      return account.trim();
    }
    throw ApiProblem.notFound("account " + account.trim());
  }

  static final int MAX_FINDING_TYPES = 100;

  /** Host names of cloud metadata services (their addresses are refused as link-local). */
  private static final Set<String> METADATA_HOSTS =
      Set.of("metadata", "metadata.google.internal", "metadata.goog", "instance-data");

  /**
   * An http(s) URL of at most 2000 characters whose host is not a link-local, unspecified or
   * multicast address nor a cloud metadata name (S9: {@code http://169.254.169.254/} was accepted,
   * and every alert would have been POSTed to the instance metadata service). Numeric hosts must be
   * plain dotted quads. Loopback and private addresses stay allowed: webhooks to an internal
   * receiver are a legitimate set-up.
   */
  public static String webhookUrl(String url) {
    if (url == null) {
      return null;
    }
    if (url.length() > 2000) {
      throw ApiProblem.badRequest("webhookUrl", "must be at most 2000 characters");
    }
    URI u;
    try {
      u = hasControl(url) ? null : new URI(url);
    } catch (URISyntaxException e) {
      u = null;
    }
    if (u == null
        || !("https".equalsIgnoreCase(u.getScheme()) || "http".equalsIgnoreCase(u.getScheme()))
        || u.getHost() == null
        || u.getHost().isBlank()) {
      throw ApiProblem.badRequest("webhookUrl", "must be an http or https URL");
    }
    String host = u.getHost().toLowerCase(Locale.ROOT);
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    if (METADATA_HOSTS.contains(host)) {
      throw ApiProblem.badRequest("webhookUrl", "must not point at a cloud metadata service");
    }
    InetAddress literal = null;
    if (host.startsWith("[") && host.endsWith("]")) {
      try {
        literal = InetAddress.getByName(host.substring(1, host.length() - 1));
      } catch (UnknownHostException | RuntimeException e) {
        throw ApiProblem.badRequest("webhookUrl", "must be an http or https URL");
      }
    } else if (host.substring(host.lastIndexOf('.') + 1).matches("[0-9].*")) {
      // no top-level domain starts with a digit: a number, however written, which must be a plain
      // dotted quad (a resolver reads 2852039166, 0xA9.0xFE.0xA9.0xFE or 0251.0376.0251.0376 as
      // 169.254.169.254)
      if (!host.matches(
          "((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
              + "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")) {
        throw ApiProblem.badRequest(
            "webhookUrl", "must give an IPv4 host as four plain decimal numbers (a.b.c.d)");
      }
      try {
        literal = InetAddress.getByName(host);
      } catch (UnknownHostException e) {
        throw ApiProblem.badRequest("webhookUrl", "must be an http or https URL");
      }
    }
    // refusedAddress judges an IPv4-mapped IPv6 literal as its IPv4 address
    if (literal != null && refusedAddress(literal) != null) {
      throw ApiProblem.badRequest(
          "webhookUrl", "must not point at a link-local, unspecified or multicast address");
    }
    return url;
  }

  /**
   * Why a webhook may not go to this address ("a link-local", "an unspecified", "a multicast"), or
   * null when it may: IPv4-mapped and -compatible IPv6 addresses are judged as their IPv4 address.
   * Loopback and private addresses are allowed.
   */
  public static String refusedAddress(InetAddress address) {
    InetAddress a = address;
    if (a instanceof java.net.Inet6Address v6 && isMappedV4(v6.getAddress())) {
      try {
        a = InetAddress.getByAddress(java.util.Arrays.copyOfRange(v6.getAddress(), 12, 16));
      } catch (UnknownHostException e) {
        return "an invalid";
      }
    }
    if (a.isLinkLocalAddress()) {
      return "a link-local";
    }
    if (a.isAnyLocalAddress()) {
      return "an unspecified";
    }
    if (a.isMulticastAddress()) {
      return "a multicast";
    }
    return null;
  }

  private static boolean isMappedV4(byte[] a) {
    for (int i = 0; i < 10; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return (a[10] == (byte) 0xff && a[11] == (byte) 0xff) || (a[10] == 0 && a[11] == 0);
  }

  /** Control characters (NUL is refused by PostgreSQL: a 503; CR/LF would split mail headers). */
  static boolean hasControl(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
        return true;
      }
    }
    return false;
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
