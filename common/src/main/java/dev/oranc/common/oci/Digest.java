package dev.oranc.common.oci;

import dev.oranc.common.error.FormatException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * An OCI content digest, {@code sha256:<64 lowercase hex>}. Only SHA-256 is accepted: it is what
 * every registry computes, and a digest we cannot verify is a digest we should not trust.
 */
public record Digest(String hex) {

  private static final String PREFIX = "sha256:";

  public Digest {
    if (hex == null || hex.length() != 64 || !isLowerHex(hex)) {
      throw new FormatException(
          "digest '" + PREFIX + hex + "'", "a sha256 digest is 64 lowercase hex digits");
    }
  }

  public static Digest parse(String text) {
    if (text == null || !text.startsWith(PREFIX)) {
      throw new FormatException(
          "digest '" + text + "'", "expected sha256:<64 hex digits> (only sha256 is supported)");
    }
    return new Digest(text.substring(PREFIX.length()));
  }

  public static Digest of(byte[] sha256) {
    if (sha256.length != 32) {
      throw new IllegalArgumentException("a SHA-256 is 32 bytes, not " + sha256.length);
    }
    return new Digest(HexFormat.of().formatHex(sha256));
  }

  public static Digest sha256(byte[] content) {
    return of(newSha256().digest(content));
  }

  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }

  public byte[] bytes() {
    return HexFormat.of().parseHex(hex);
  }

  @Override
  public String toString() {
    return PREFIX + hex;
  }

  private static boolean isLowerHex(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }
}
