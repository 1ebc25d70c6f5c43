package dev.oranc.proxy.http;

import dev.oranc.proxy.error.RequestRejected;
import java.util.Locale;
import java.util.Optional;

/**
 * The one byte range of a {@code Range} request header a GET answers with 206 (RFC 9110 §14):
 * {@code bytes=FIRST-LAST}, {@code bytes=FIRST-} or {@code bytes=-SUFFIX}, clamped to the file.
 *
 * <p>What is not served as a range is served whole (200), as RFC 9110 allows and as most servers
 * do: several ranges (a multipart/byteranges answer is rarely wanted and no Nix or S3 client asks
 * for one), a unit other than bytes, a malformed value, and any request with {@code If-Range}
 * (there is no validator here to compare it with). A well-formed range that starts at or past the
 * end of the file is a 416.
 *
 * @param first the first byte served
 * @param last the last byte served, inclusive
 * @param size the whole file's size
 */
record ByteRange(long first, long last, long size) {

  ByteRange {
    if (first < 0 || last < first || last >= size) {
      throw new IllegalArgumentException("range " + first + "-" + last + " of " + size);
    }
  }

  long length() {
    return last - first + 1;
  }

  /** The {@code Content-Range} of the answer. */
  String contentRange() {
    return "bytes " + first + "-" + last + "/" + size;
  }

  /** The {@code Range} header that asks a registry for exactly these bytes. */
  String header() {
    return "bytes=" + first + "-" + last;
  }

  /**
   * The range to serve of a file of {@code size} bytes; empty to serve it whole.
   *
   * @throws RequestRejected.RangeNotSatisfiable for a range that starts at or past the end
   */
  static Optional<ByteRange> parse(String header, String ifRange, long size) {
    if (header == null || ifRange != null) {
      return Optional.empty();
    }
    String v = header.trim();
    if (!v.regionMatches(true, 0, "bytes=", 0, 6)) {
      return Optional.empty();
    }
    String spec = v.substring(6).trim();
    if (spec.indexOf(',') >= 0) {
      return Optional.empty();
    }
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return Optional.empty();
    }
    String a = spec.substring(0, dash).trim();
    String b = spec.substring(dash + 1).trim();
    if (a.isEmpty()) {
      long suffix = number(b);
      if (suffix < 0) {
        return Optional.empty();
      }
      if (suffix == 0 || size == 0) {
        throw new RequestRejected.RangeNotSatisfiable(v, size);
      }
      return Optional.of(new ByteRange(Math.max(0, size - suffix), size - 1, size));
    }
    long first = number(a);
    long last = b.isEmpty() ? Long.MAX_VALUE : number(b);
    if (first < 0 || last < 0 || last < first) {
      return Optional.empty();
    }
    if (first >= size) {
      throw new RequestRejected.RangeNotSatisfiable(v, size);
    }
    return Optional.of(new ByteRange(first, Math.min(last, size - 1), size));
  }

  /** A decimal number; a value too large for a long is "beyond any file"; -1 when malformed. */
  private static long number(String s) {
    if (s.isEmpty()) {
      return -1;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return -1;
      }
    }
    if (s.length() > 18) {
      return Long.MAX_VALUE;
    }
    return Long.parseLong(s.toLowerCase(Locale.ROOT));
  }
}
