package dev.oranc.proxy.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Each checksum S3 clients send, right and wrong, in a header and in a trailer. */
class BodyChecksumsTest {

  private static final byte[] BODY =
      "The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.US_ASCII);
  private static final HttpHeaders NONE = new DefaultHttpHeaders();

  private static String b64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }

  private static byte[] value(ChecksumAlgorithm a, byte[] body) {
    ChecksumAlgorithm.Sum s = a.newSum();
    s.update(ByteBuffer.wrap(body));
    return s.value();
  }

  private static BodyChecksums fed(HttpHeaders headers) {
    BodyChecksums c = new BodyChecksums(headers);
    // In two pieces, one of them a composite buffer, as bodies arrive.
    ByteBuf first = Unpooled.wrappedBuffer(BODY, 0, 10);
    ByteBuf rest =
        Unpooled.wrappedBuffer(
            Unpooled.wrappedBuffer(BODY, 10, 5),
            Unpooled.wrappedBuffer(BODY, 15, BODY.length - 15));
    c.update(first);
    c.update(rest);
    first.release();
    rest.release();
    return c;
  }

  @Test
  void knownValues() {
    assertEquals(
        "9e107d9d372bb6826bd81d3542a419d6",
        HexFormat.of().formatHex(value(ChecksumAlgorithm.MD5, BODY)));
    assertEquals("414fa339", HexFormat.of().formatHex(value(ChecksumAlgorithm.CRC32, BODY)));
    assertEquals("22620404", HexFormat.of().formatHex(value(ChecksumAlgorithm.CRC32C, BODY)));
    // CRC-64/NVME's check value.
    assertEquals(
        "ae8b14860a799888",
        HexFormat.of()
            .formatHex(
                value(
                    ChecksumAlgorithm.CRC64NVME, "123456789".getBytes(StandardCharsets.US_ASCII))));
  }

  @Test
  void everyAlgorithmInAHeaderAndInATrailer() throws Exception {
    for (ChecksumAlgorithm a : ChecksumAlgorithm.values()) {
      String right = b64(value(a, BODY));
      String wrong = b64(value(a, "other".getBytes(StandardCharsets.US_ASCII)));
      fed(new DefaultHttpHeaders().set(a.header(), right)).verify(NONE);
      assertThrows(
          S3Rejected.BadDigest.class,
          () -> fed(new DefaultHttpHeaders().set(a.header(), wrong)).verify(NONE),
          a.name());
      if (a == ChecksumAlgorithm.MD5) {
        continue;
      }
      HttpHeaders announced = new DefaultHttpHeaders().set("x-amz-trailer", a.header());
      fed(announced).verify(new DefaultHttpHeaders().set(a.header(), right));
      S3Rejected.BadDigest bad =
          assertThrows(
              S3Rejected.BadDigest.class,
              () -> fed(announced).verify(new DefaultHttpHeaders().set(a.header(), wrong)));
      assertTrue(bad.getMessage().contains(a.header()), bad.getMessage());
      // Announced but missing.
      assertThrows(S3Rejected.IncompleteBody.class, () -> fed(announced).verify(NONE));
    }
  }

  @Test
  void aSignedPayloadsSha256IsChecked() throws Exception {
    String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(BODY));
    fed(new DefaultHttpHeaders().set("x-amz-content-sha256", hex)).verify(NONE);
    fed(new DefaultHttpHeaders().set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")).verify(NONE);
    S3Rejected.BadDigest bad =
        assertThrows(
            S3Rejected.BadDigest.class,
            () ->
                fed(new DefaultHttpHeaders().set("x-amz-content-sha256", "0".repeat(64)))
                    .verify(NONE));
    assertTrue(bad.getMessage().contains("x-amz-content-sha256"), bad.getMessage());
  }

  @Test
  void theMd5IsAlwaysThereForTheETagAndBadValuesAreRefused() {
    BodyChecksums c = fed(NONE);
    c.verify(NONE);
    assertArrayEquals(value(ChecksumAlgorithm.MD5, BODY), c.md5());
    assertThrows(
        S3Rejected.BadDigest.class,
        () -> new BodyChecksums(new DefaultHttpHeaders().set("Content-MD5", "%%%")));
    assertThrows(
        S3Rejected.BadDigest.class,
        () -> new BodyChecksums(new DefaultHttpHeaders().set("Content-MD5", b64(new byte[3]))));
    // A trailer checksum that was not announced is refused rather than ignored.
    assertThrows(
        S3Rejected.BadDigest.class,
        () ->
            fed(NONE)
                .verify(
                    new DefaultHttpHeaders()
                        .set("x-amz-checksum-crc32", b64(value(ChecksumAlgorithm.CRC32, BODY)))));
  }
}
