package dev.oranc.proxy.s3;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * Checks an S3 upload's body against the checksums its request announced, computed while the body
 * streams through: {@code Content-MD5}, a hex {@code x-amz-content-sha256} (a signed payload),
 * {@code x-amz-checksum-*} as a header, and one named by {@code x-amz-trailer} that arrives in an
 * aws-chunked trailer. The MD5 is always computed: it is the ETag S3 clients are given.
 *
 * <p>A mismatch is {@link S3Rejected.BadDigest}; a checksum that cannot be read, or a trailer that
 * was announced and did not come, is {@link S3Rejected.BadDigest} or {@link
 * S3Rejected.IncompleteBody}. Not thread-safe.
 */
public final class BodyChecksums {

  private final Map<ChecksumAlgorithm, ChecksumAlgorithm.Sum> sums =
      new EnumMap<>(ChecksumAlgorithm.class);

  /** Expected values from the request's headers (base64 of the checksum's bytes). */
  private final Map<ChecksumAlgorithm, byte[]> expected = new EnumMap<>(ChecksumAlgorithm.class);

  /** Where each expected value came from, for the message. */
  private final Map<ChecksumAlgorithm, String> source = new EnumMap<>(ChecksumAlgorithm.class);

  private final ChecksumAlgorithm trailer;
  private byte[] md5;

  public BodyChecksums(HttpHeaders headers) {
    sums.put(ChecksumAlgorithm.MD5, ChecksumAlgorithm.MD5.newSum());
    String contentMd5 = headers.get(ChecksumAlgorithm.MD5.header());
    if (contentMd5 != null) {
      expected.put(ChecksumAlgorithm.MD5, base64(ChecksumAlgorithm.MD5, contentMd5, 16));
      source.put(ChecksumAlgorithm.MD5, "Content-MD5");
    }
    String payloadSha = headers.get("x-amz-content-sha256");
    if (payloadSha != null && payloadSha.trim().matches("[0-9a-fA-F]{64}")) {
      expected.put(
          ChecksumAlgorithm.SHA256,
          HexFormat.of().parseHex(payloadSha.trim().toLowerCase(Locale.ROOT)));
      source.put(ChecksumAlgorithm.SHA256, "x-amz-content-sha256");
    }
    for (Map.Entry<String, String> h : headers) {
      ChecksumAlgorithm a = ChecksumAlgorithm.ofField(h.getKey());
      if (a != null) {
        byte[] value = base64(a, h.getValue(), -1);
        byte[] other = expected.putIfAbsent(a, value);
        if (other != null && !MessageDigest.isEqual(other, value)) {
          throw new S3Rejected.BadDigest(
              "the request's " + a.header() + " and x-amz-content-sha256 disagree");
        }
        source.putIfAbsent(a, a.header());
      }
    }
    String announced = headers.get("x-amz-trailer");
    ChecksumAlgorithm t = null;
    if (announced != null) {
      for (String name : announced.split(",")) {
        ChecksumAlgorithm a = ChecksumAlgorithm.ofField(name);
        if (a != null) {
          t = a;
        }
      }
    }
    trailer = t;
    for (ChecksumAlgorithm a : expected.keySet()) {
      sums.computeIfAbsent(a, ChecksumAlgorithm::newSum);
    }
    if (trailer != null) {
      sums.computeIfAbsent(trailer, ChecksumAlgorithm::newSum);
    }
  }

  public void update(ByteBuf data) {
    if (!data.isReadable()) {
      return;
    }
    ByteBuffer[] buffers = data.nioBuffers();
    for (ChecksumAlgorithm.Sum sum : sums.values()) {
      for (ByteBuffer b : buffers) {
        sum.update(b.duplicate());
      }
    }
  }

  /**
   * The body has ended; {@code trailers} are its trailer fields (empty when it had none).
   *
   * @throws S3Rejected.BadDigest when a checksum does not match
   */
  public void verify(HttpHeaders trailers) {
    Map<ChecksumAlgorithm, byte[]> want = new EnumMap<>(expected);
    for (Map.Entry<String, String> t : trailers) {
      ChecksumAlgorithm a = ChecksumAlgorithm.ofField(t.getKey());
      if (a != null) {
        if (!sums.containsKey(a)) {
          throw new S3Rejected.BadDigest(
              "the trailer carries " + a.header() + ", which x-amz-trailer did not announce");
        }
        want.put(a, base64(a, t.getValue(), -1));
        source.put(a, a.header() + " (trailer)");
      }
    }
    if (trailer != null && !want.containsKey(trailer)) {
      throw new S3Rejected.IncompleteBody(
          "x-amz-trailer announced "
              + trailer.header()
              + " and the body's trailer did not carry it");
    }
    Map<ChecksumAlgorithm, byte[]> actual = new EnumMap<>(ChecksumAlgorithm.class);
    sums.forEach((a, sum) -> actual.put(a, sum.value()));
    md5 = actual.get(ChecksumAlgorithm.MD5);
    for (Map.Entry<ChecksumAlgorithm, byte[]> w : want.entrySet()) {
      ChecksumAlgorithm a = w.getKey();
      if (!MessageDigest.isEqual(w.getValue(), actual.get(a))) {
        String name = source.getOrDefault(a, a.header());
        throw new S3Rejected.BadDigest(
            "the "
                + name
                + " you specified did not match what was received (received "
                + Base64.getEncoder().encodeToString(actual.get(a))
                + ")");
      }
    }
  }

  /** The body's MD5, once {@link #verify} has passed. */
  public byte[] md5() {
    return md5;
  }

  private static byte[] base64(ChecksumAlgorithm a, String value, int length) {
    byte[] b;
    try {
      b = Base64.getDecoder().decode(value.trim());
    } catch (IllegalArgumentException e) {
      throw new S3Rejected.BadDigest("the " + a.header() + " value is not base64");
    }
    if (length > 0 && b.length != length) {
      throw new S3Rejected.BadDigest("the " + a.header() + " value is not " + length + " bytes");
    }
    return b;
  }
}
