package dev.oranc.proxy.s3;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.CRC32;

/** aws-chunked bodies as the AWS documentation shows them (SigV4 streaming, trailing checksums). */
public final class AwsExamples {

  /**
   * The signed example's request head, as documented (its Authorization is for the example's key).
   */
  public static final String SIGNED_EXAMPLE_SIGNATURE =
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

  private AwsExamples() {}

  /**
   * "Example: PUT Object" of the SigV4 streaming documentation: 66560 bytes of 'a' in chunks of 64
   * KiB and 1 KiB, with its chunk signatures.
   */
  public static byte[] signedExample() {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    chunk(
        b,
        "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        65536);
    chunk(
        b,
        "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        1024);
    ascii(
        b,
        "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
    return b.toByteArray();
  }

  /**
   * The unsigned-payload-with-trailer example (STREAMING-UNSIGNED-PAYLOAD-TRAILER): chunks of
   * 0x2000, 0x2000 and 0x400 bytes, then "0", then the checksum trailer and an empty line.
   */
  public static byte[] unsignedTrailerExample(byte[] payload, String checksumField) {
    if (payload.length != 17408) {
      throw new IllegalArgumentException("the example carries 17408 bytes");
    }
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    ascii(b, "2000\r\n");
    b.write(payload, 0, 8192);
    ascii(b, "\r\n2000\r\n");
    b.write(payload, 8192, 8192);
    ascii(b, "\r\n400\r\n");
    b.write(payload, 16384, 1024);
    ascii(b, "\r\n0\r\n" + checksumField + "\r\n\r\n");
    return b.toByteArray();
  }

  public static String crc32Base64(byte[] payload) {
    CRC32 c = new CRC32();
    c.update(payload);
    long v = c.getValue();
    return Base64.getEncoder()
        .encodeToString(
            new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
  }

  private static void chunk(ByteArrayOutputStream b, String head, int n) {
    ascii(b, head + "\r\n");
    byte[] data = new byte[n];
    Arrays.fill(data, (byte) 'a');
    b.write(data, 0, n);
    ascii(b, "\r\n");
  }

  private static void ascii(ByteArrayOutputStream b, String s) {
    byte[] x = s.getBytes(StandardCharsets.US_ASCII);
    b.write(x, 0, x.length);
  }
}
