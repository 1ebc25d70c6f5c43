package dev.oranc.common.registry.auth;

import java.time.Duration;

/**
 * A registry token and how long we may use it. {@code toString} hides the token: it is as good as a
 * password until it expires.
 */
record BearerToken(String value, Duration lifetime) {

  /** Lifetime the Docker token specification assumes when the answer has no {@code expires_in}. */
  static final Duration DEFAULT_LIFETIME = Duration.ofSeconds(60);

  /**
   * How long we keep a token: its lifetime less a margin (a tenth, at least 1 s, at most 30 s), so
   * that a request started just before expiry does not arrive with a dead token.
   */
  Duration cacheFor() {
    long seconds = lifetime.toSeconds();
    long margin = Math.max(1, Math.min(30, seconds / 10));
    return Duration.ofSeconds(Math.max(0, seconds - margin));
  }

  String authorization() {
    return "Bearer " + value;
  }

  @Override
  public String toString() {
    return "BearerToken[<redacted>, lifetime=" + lifetime + "]";
  }
}
