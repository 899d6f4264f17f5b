package io.keywarden.audit.findings;

/** What audit-service can find about a key, with the sentence and action people read. */
public enum FindingType {
  NEVER_USED(
      "This key was created more than %s ago and has never been used.",
      "Delete it if nobody needs it; otherwise note who owns it."),
  UNUSED(
      "This key has not been used for more than %s.",
      "Disable it now and delete it if nobody complains."),
  STALE(
      "This key has not been used for more than %s.",
      "Delete it; it is an unmonitored way into your account."),
  EXPIRING(
      "This key expires within %s.",
      "Rotate it or extend its expiry before the services using it fail."),
  OLD(
      "This key is older than %s and has never been rotated.",
      "Rotate it and replace the secret wherever it is used."),
  LEAKED_STILL_USED(
      "This key was reported leaked or revoked but someone is still trying to use it%s.",
      "Find the client still sending it and check your logs for misuse."),
  OVER_SHARED(
      "This key was used from %s in one day.",
      "Give each device or person its own key and restrict the allowed IPs."),
  QUOTA_NEAR("%s.", "Raise the quota or credit the account, or find what is spending it.");

  private final String sentence;
  private final String action;

  FindingType(String sentence, String action) {
    this.sentence = sentence;
    this.action = action;
  }

  /** The one-sentence explanation, with the rule's figure filled in. */
  public String explain(String figure) {
    return String.format(sentence, figure);
  }

  public String action() {
    return action;
  }

  /** Findings about a key that is not usable any more; kept when the key is disabled. */
  public boolean survivesDeactivation() {
    return this == LEAKED_STILL_USED;
  }
}
