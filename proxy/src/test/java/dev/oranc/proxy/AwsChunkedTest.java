package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.proxy.s3.AwsExamples;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * S3 uploads with aws-chunked bodies and checksums through the server into the real registry: the
 * AWS documentation's requests byte for byte (only the access key id is ours: base64 of the
 * registry's user:password) are stored as their decoded payload, and a body whose checksum does not
 * match is a 400 {@code BadDigest} after which nothing is stored — no manifest reaches the registry
 * (counted through the harness's proxy).
 */
class AwsChunkedTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.BASIC);

  private static final String KEY_ID =
      Base64.getEncoder()
          .encodeToString(
              (Registry.USER + ":" + Registry.PASSWORD).getBytes(StandardCharsets.UTF_8));
  private static final String SIGV4 =
      "AWS4-HMAC-SHA256 Credential="
          + KEY_ID
          + "/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;"
          + "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature="
          + AwsExamples.SIGNED_EXAMPLE_SIGNATURE;

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private record Place(String repository, String path) {}

  private static Place place(String key) {
    String repo = "test/chunked" + UUID.randomUUID().toString().substring(0, 8);
    return new Place(repo, "/" + registry.get().proxyAddress() + "/" + repo + "/" + key);
  }

  private static byte[] get(Place p) throws Exception {
    HttpResponse<byte[]> r = server.get(p.path, TestServer.basic(Registry.USER, Registry.PASSWORD));
    assertEquals(200, r.statusCode(), TestServer.text(r));
    return r.body();
  }

  private static void assertNothingStored(Place p) throws Exception {
    HttpResponse<byte[]> r = server.get(p.path, TestServer.basic(Registry.USER, Registry.PASSWORD));
    assertEquals(404, r.statusCode(), TestServer.text(r));
    assertTrue(
        registry.get().proxiedRequests("PUT", ".*/" + p.repository + "/manifests/.*").isEmpty(),
        "no manifest was written");
  }

  @Test
  void theDocumentedSignedStreamingPutIsStoredDecoded() throws Exception {
    Place p = place("chunkObject.txt");
    byte[] body = AwsExamples.signedExample();
    RawExchange.Answer a =
        RawExchange.exchange(
            server.port(),
            String.join(
                "\r\n",
                "PUT " + p.path + " HTTP/1.1",
                "Host: s3.amazonaws.com",
                "x-amz-date: 20130524T000000Z",
                "x-amz-storage-class: REDUCED_REDUNDANCY",
                "Authorization: " + SIGV4,
                "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                "Content-Encoding: aws-chunked",
                "x-amz-decoded-content-length: 66560",
                "Content-Length: 66824"),
            body);
    assertEquals(200, a.status(), a.text());
    byte[] expected = new byte[66560];
    Arrays.fill(expected, (byte) 'a');
    assertEquals(
        "\"" + HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(expected)) + "\"",
        a.header("ETag"));
    byte[] got = get(p);
    assertArrayEquals(expected, got);
    // aws-chunked was framing, not content: it is not kept as the file's encoding.
    HttpResponse<byte[]> head =
        server.head(p.path, TestServer.basic(Registry.USER, Registry.PASSWORD));
    assertTrue(head.headers().firstValue("Content-Encoding").isEmpty(), head.headers().toString());
    assertEquals("66560", head.headers().firstValue("Content-Length").orElse(null));
  }

  private static String unsignedTrailerHead(Place p, int contentLength, String extra) {
    return String.join(
            "\r\n",
            "PUT " + p.path + " HTTP/1.1",
            "Host: 127.0.0.1",
            "Authorization: AWS4-HMAC-SHA256 Credential="
                + KEY_ID
                + "/20240101/us-east-1/s3/aws4_request,"
                + " SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-trailer,"
                + " Signature="
                + "0".repeat(64),
            "x-amz-date: 20240101T000000Z",
            "Content-Encoding: aws-chunked",
            "x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-decoded-content-length: 17408",
            "x-amz-trailer: x-amz-checksum-crc32",
            "Content-Type: application/x-nix-nar")
        + extra
        + (contentLength >= 0 ? "\r\nContent-Length: " + contentLength : "");
  }

  @Test
  void theUnsignedPayloadWithACrc32TrailerIsStoredDecoded() throws Exception {
    byte[] payload = new byte[17408];
    new Random(11).nextBytes(payload);
    Place p = place("nar/trailer.nar");
    byte[] body =
        AwsExamples.unsignedTrailerExample(
            payload, "x-amz-checksum-crc32:" + AwsExamples.crc32Base64(payload));
    RawExchange.Answer a =
        RawExchange.exchange(server.port(), unsignedTrailerHead(p, body.length, ""), body);
    assertEquals(200, a.status(), a.text());
    assertArrayEquals(payload, get(p));
  }

  @Test
  void anAwsChunkedBodyInsideHttpChunkingIsDecodedToo() throws Exception {
    byte[] payload = new byte[17408];
    new Random(12).nextBytes(payload);
    Place p = place("nar/te-chunked.nar");
    byte[] inner =
        AwsExamples.unsignedTrailerExample(
            payload, "x-amz-checksum-crc32:" + AwsExamples.crc32Base64(payload));
    ByteArrayOutputStream outer = new ByteArrayOutputStream();
    for (int at = 0; at < inner.length; at += 5000) {
      int n = Math.min(5000, inner.length - at);
      outer.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      outer.write(inner, at, n);
      outer.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    outer.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    RawExchange.Answer a =
        RawExchange.exchange(
            server.port(),
            unsignedTrailerHead(p, -1, "\r\nTransfer-Encoding: chunked"),
            outer.toByteArray());
    assertEquals(200, a.status(), a.text());
    assertArrayEquals(payload, get(p));
  }

  @Test
  void aWrongTrailerChecksumIsBadDigestAndNothingIsStored() throws Exception {
    byte[] payload = new byte[17408];
    new Random(13).nextBytes(payload);
    byte[] other = payload.clone();
    other[17000] ^= 1;
    Place p = place("nar/bad.nar");
    byte[] body =
        AwsExamples.unsignedTrailerExample(
            payload, "x-amz-checksum-crc32:" + AwsExamples.crc32Base64(other));
    RawExchange.Answer a =
        RawExchange.exchange(server.port(), unsignedTrailerHead(p, body.length, ""), body);
    assertEquals(400, a.status(), a.text());
    assertTrue(a.text().contains("<Code>BadDigest</Code>"), a.text());
    assertTrue(a.text().contains("x-amz-checksum-crc32"), a.text());
    assertNothingStored(p);
  }

  @Test
  void aPayloadShorterThanAnnouncedIsRefusedAndNothingIsStored() throws Exception {
    Place p = place("nar/short.nar");
    byte[] body = "2000\r\nabc\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    RawExchange.Answer a =
        RawExchange.exchange(
            server.port(),
            unsignedTrailerHead(p, body.length, "")
                .replace("x-amz-trailer: x-amz-checksum-crc32\r\n", ""),
            body);
    assertEquals(400, a.status(), a.text());
    assertTrue(a.text().contains("<Code>IncompleteBody</Code>"), a.text());
    assertNothingStored(p);
  }

  @Test
  void contentMd5AndASignedPayloadHashAreVerified() throws Exception {
    byte[] body = "StorePath: /nix/store/x\n".getBytes(StandardCharsets.US_ASCII);
    String md5 = Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(body));
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    String auth =
        "AWS4-HMAC-SHA256 Credential="
            + KEY_ID
            + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";

    Place good = place("good.narinfo");
    HttpResponse<byte[]> ok =
        server.put(good.path, body, auth, "Content-MD5", md5, "x-amz-content-sha256", sha);
    assertEquals(200, ok.statusCode(), TestServer.text(ok));
    assertArrayEquals(body, get(good));

    Place badMd5 = place("bad-md5.narinfo");
    HttpResponse<byte[]> r =
        server.put(
            badMd5.path,
            body,
            auth,
            "Content-MD5",
            Base64.getEncoder().encodeToString(new byte[16]),
            "x-amz-content-sha256",
            "UNSIGNED-PAYLOAD");
    assertEquals(400, r.statusCode());
    assertTrue(TestServer.text(r).contains("<Code>BadDigest</Code>"), TestServer.text(r));
    assertNothingStored(badMd5);

    Place badSha = place("bad-sha.narinfo");
    r = server.put(badSha.path, body, auth, "x-amz-content-sha256", "1".repeat(64));
    assertEquals(400, r.statusCode());
    assertTrue(TestServer.text(r).contains("<Code>BadDigest</Code>"), TestServer.text(r));
    assertNothingStored(badSha);
  }

  @Test
  void aPlainClientIsNotDecodedOrChecked() throws Exception {
    // Without S3 signs, aws-chunked is refused as before and Content-MD5 is not looked at.
    Place p = place("plain.narinfo");
    String basic = TestServer.basic(Registry.USER, Registry.PASSWORD);
    HttpResponse<byte[]> chunked =
        server.put(
            p.path,
            "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            basic,
            "Content-Encoding",
            "aws-chunked");
    assertEquals(400, chunked.statusCode());
    assertFalse(TestServer.text(chunked).contains("<Error>"), TestServer.text(chunked));
    HttpResponse<byte[]> md5 =
        server.put(
            p.path,
            "x".getBytes(StandardCharsets.US_ASCII),
            basic,
            "Content-MD5",
            Base64.getEncoder().encodeToString(new byte[16]));
    assertEquals(200, md5.statusCode(), TestServer.text(md5));
    assertTrue(md5.headers().firstValue("ETag").isEmpty());
  }
}
