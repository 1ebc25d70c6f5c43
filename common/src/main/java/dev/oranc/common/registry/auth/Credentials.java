package dev.oranc.common.registry.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;

/**
 * How we identify ourselves to a registry: anonymously, or with a user name and a password (for
 * ghcr.io a personal access token). The one place a secret is held.
 *
 * <p>{@link #toString()} never shows the password, and neither does anything derived from it that
 * may reach a log: {@link #fingerprint()} is a truncated SHA-256 that keys caches (tokens, resolved
 * tags) so that one user's answers are never served to another.
 */
public final class Credentials {

  private static final Credentials ANONYMOUS = new Credentials(null, null);

  private final String username;
  private final String password;
  private final String fingerprint;

  private Credentials(String username, String password) {
    this.username = username;
    this.password = password;
    this.fingerprint = username == null ? "anonymous" : digest(username, password);
  }

  public static Credentials anonymous() {
    return ANONYMOUS;
  }

  public static Credentials basic(String username, String password) {
    Objects.requireNonNull(username, "username");
    Objects.requireNonNull(password, "password");
    return new Credentials(username, password);
  }

  public boolean isAnonymous() {
    return username == null;
  }

  /** Stands for these credentials in cache keys; reveals nothing of the password. */
  public String fingerprint() {
    return fingerprint;
  }

  /** The value of an {@code Authorization: Basic} header; package-private so it stays inside. */
  String basicAuthorization() {
    if (username == null) {
      throw new IllegalStateException("anonymous credentials have no Basic header");
    }
    byte[] userPass = (username + ":" + password).getBytes(StandardCharsets.UTF_8);
    return "Basic " + Base64.getEncoder().encodeToString(userPass);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Credentials other
        && Objects.equals(username, other.username)
        && Objects.equals(password, other.password);
  }

  @Override
  public int hashCode() {
    return fingerprint.hashCode();
  }

  @Override
  public String toString() {
    return username == null ? "Credentials[anonymous]" : "Credentials[basic, <redacted>]";
  }

  private static String digest(String username, String password) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(username.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
      sha.update(password.getBytes(StandardCharsets.UTF_8));
      return "sha256:" + HexFormat.of().formatHex(sha.digest(), 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }
}
