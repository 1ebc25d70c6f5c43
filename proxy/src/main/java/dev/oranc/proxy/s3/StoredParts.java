package dev.oranc.proxy.s3;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The parts of one multipart upload that were stored (streamed into the blob, or complete in a
 * spool file), by number, with their MD5s; what a CompleteMultipartUpload's list is checked
 * against, and where the ETags come from.
 *
 * <p>Design note. The blob is built in part-number order, so a Complete is accepted only for the
 * parts 1, 2, 3… without gaps, each listed with the ETag it was answered with, and none stored but
 * left out: bytes in the registry's session cannot be taken back. A part's ETag is its MD5 in hex,
 * quoted; the object's is the MD5 of the parts' MD5s followed by "-N", as S3 does.
 *
 * <p>Threads: not thread-safe. Its {@link MultipartSession} holds it and calls it only while
 * holding the session's monitor.
 */
final class StoredParts {

  /** A part as stored: its length and the MD5 of its bytes. */
  record Stored(long size, byte[] md5) {}

  private final Map<Integer, Stored> stored = new HashMap<>();

  void put(int number, long size, byte[] md5) {
    stored.put(number, new Stored(size, md5));
  }

  /** The part {@code number}, or null when it was not stored. */
  Stored get(int number) {
    return stored.get(number);
  }

  /**
   * Checks a Complete's list against what was stored.
   *
   * @throws S3Rejected.InvalidPartOrder, {@link S3Rejected.InvalidPart} for a list that does not
   *     match
   */
  void check(List<S3Xml.CompletedPart> parts) {
    int previous = 0;
    for (S3Xml.CompletedPart p : parts) {
      if (p.number() <= previous) {
        throw new S3Rejected.InvalidPartOrder(
            "the parts must be listed in ascending order; part "
                + p.number()
                + " follows part "
                + previous);
      }
      previous = p.number();
    }
    for (int i = 0; i < parts.size(); i++) {
      S3Xml.CompletedPart p = parts.get(i);
      Stored s = stored.get(p.number());
      if (s == null) {
        throw new S3Rejected.InvalidPart(
            "part " + p.number() + " was not uploaded, or has not finished");
      }
      if (!S3Xml.bareETag(p.etag()).equals(hex(s.md5()))) {
        throw new S3Rejected.InvalidPart(
            "part " + p.number() + " has ETag \"" + hex(s.md5()) + "\", not " + p.etag());
      }
      if (p.number() != i + 1) {
        throw new S3Rejected.InvalidPart(
            "part "
                + (i + 1)
                + " is not listed: this server streams the parts into one registry blob in"
                + " order, so they must be numbered 1, 2, 3… without gaps");
      }
    }
    for (int n : stored.keySet()) {
      if (n > parts.size()) {
        throw new S3Rejected.InvalidPart(
            "part "
                + n
                + " was uploaded but is not listed: its bytes are in the registry's upload"
                + " already");
      }
    }
  }

  /** The whole object's ETag, over the parts 1 to {@code parts} (all stored: {@link #check}). */
  String objectETag(int parts) {
    MessageDigest md5 = md5();
    for (int n = 1; n <= parts; n++) {
      md5.update(stored.get(n).md5());
    }
    return "\"" + hex(md5.digest()) + "-" + parts + "\"";
  }

  /** A part's ETag. */
  static String quoted(byte[] md5) {
    return "\"" + hex(md5) + "\"";
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static MessageDigest md5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has MD5", e);
    }
  }
}
