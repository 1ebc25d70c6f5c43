package dev.oranc.proxy.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The aws-chunked framing, with the AWS documentation's examples byte for byte, cut at every place
 * a read could end.
 */
class AwsChunkedParserTest {

  /** Feeds {@code body} cut at {@code cuts}; returns the payload. */
  private static byte[] decode(AwsChunkedParser p, byte[] body, int... cuts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int from = 0;
    int[] ends = Arrays.copyOf(cuts, cuts.length + 1);
    ends[cuts.length] = body.length;
    for (int end : ends) {
      ByteBuf in = Unpooled.wrappedBuffer(body, from, end - from);
      try {
        p.feed(
            in,
            piece -> {
              byte[] x = new byte[piece.readableBytes()];
              piece.readBytes(x);
              piece.release();
              out.write(x, 0, x.length);
            });
        assertEquals(0, in.readableBytes());
      } finally {
        in.release();
      }
      from = end;
    }
    p.end();
    return out.toByteArray();
  }

  @Test
  void theDocumentedSignedExampleDecodesAtEveryCut() {
    byte[] body = AwsExamples.signedExample();
    assertEquals(66824, body.length, "the documentation's Content-Length");
    byte[] expected = new byte[66560];
    Arrays.fill(expected, (byte) 'a');
    assertArrayEquals(expected, decode(new AwsChunkedParser(66560), body));
    for (int cut = 1; cut < body.length; cut += (cut < 200 || cut > body.length - 200) ? 1 : 997) {
      assertArrayEquals(expected, decode(new AwsChunkedParser(66560), body, cut), "cut at " + cut);
    }
    // Byte by byte through the headers and the last chunk.
    int[] cuts = new int[300];
    for (int i = 0; i < cuts.length; i++) {
      cuts[i] = i < 150 ? i + 1 : body.length - 300 + i;
    }
    assertArrayEquals(expected, decode(new AwsChunkedParser(-1), body, cuts));
  }

  @Test
  void theUnsignedTrailerExampleGivesItsTrailer() {
    byte[] payload = new byte[17408];
    new Random(1).nextBytes(payload);
    String field = "x-amz-checksum-crc32:" + AwsExamples.crc32Base64(payload);
    byte[] body = AwsExamples.unsignedTrailerExample(payload, field);
    for (int cut = 1; cut < body.length; cut += 37) {
      AwsChunkedParser p = new AwsChunkedParser(17408);
      assertArrayEquals(payload, decode(p, body, cut));
      assertEquals(AwsExamples.crc32Base64(payload), p.trailers().get("x-amz-checksum-crc32"));
    }
  }

  @Test
  void aSignedTrailerWithItsSignatureIsRead() {
    byte[] payload = "hello".getBytes(StandardCharsets.US_ASCII);
    String body =
        "5;chunk-signature="
            + "1".repeat(64)
            + "\r\nhello\r\n0;chunk-signature="
            + "2".repeat(64)
            + "\r\nx-amz-checksum-crc32:"
            + AwsExamples.crc32Base64(payload)
            + "\r\nx-amz-trailer-signature:"
            + "3".repeat(64)
            + "\r\n\r\n";
    AwsChunkedParser p = new AwsChunkedParser(5);
    assertArrayEquals(payload, decode(p, body.getBytes(StandardCharsets.US_ASCII)));
    assertEquals(AwsExamples.crc32Base64(payload), p.trailers().get("x-amz-checksum-crc32"));
  }

  @Test
  void brokenFramingAndWrongLengthsAreIncompleteBodies() {
    String[] broken = {
      "zz\r\nhello\r\n0\r\n\r\n", // size not hex
      "5\r\nhelloXX0\r\n\r\n", // data not followed by CRLF
      "5\r\nhello\r\n0\r\nnot a field\r\n\r\n", // trailer without a colon
      "5\r\nhello\r\n0\r\n\r\nextra", // bytes after the end
      "5\r\nhel", // ends inside the data
      "5\r\nhello\r\n", // no final chunk
      "1" + "0".repeat(20) + "\r\n", // absurd size
    };
    for (String b : broken) {
      assertThrows(
          S3Rejected.IncompleteBody.class,
          () -> decode(new AwsChunkedParser(-1), b.getBytes(StandardCharsets.US_ASCII)),
          b);
    }
    byte[] ok = "5\r\nhello\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    S3Rejected.IncompleteBody shorter =
        assertThrows(S3Rejected.IncompleteBody.class, () -> decode(new AwsChunkedParser(6), ok));
    assertTrue(
        shorter.getMessage().contains("x-amz-decoded-content-length says 6"), shorter.getMessage());
    // Longer than announced fails at the chunk header, before its data is handed on.
    assertThrows(S3Rejected.IncompleteBody.class, () -> decode(new AwsChunkedParser(4), ok));
    assertThrows(
        S3Rejected.IncompleteBody.class,
        () ->
            decode(
                new AwsChunkedParser(-1),
                ("5;" + "x".repeat(5000) + "\r\nhello\r\n0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII)));
    // A trailer section whose closing empty line is missing still ends the body.
    assertArrayEquals(
        "hello".getBytes(StandardCharsets.US_ASCII),
        decode(new AwsChunkedParser(5), "5\r\nhello\r\n0\r\n".getBytes(StandardCharsets.US_ASCII)));
  }
}
