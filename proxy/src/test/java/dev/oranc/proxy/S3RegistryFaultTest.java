package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.FakeRegistry;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What an S3 client sees when the registry fails (a fault-injecting fake; the happy paths run
 * against the real registry): an overloaded, rate-limiting or failing registry is {@code 503
 * SlowDown} with {@code Retry-After} in S3's XML — which S3 clients retry — for reads, uploads and
 * every multipart step, never {@code NoSuchKey}; refused credentials are {@code
 * InvalidAccessKeyId}. A failure during a multipart upload publishes nothing.
 */
class S3RegistryFaultTest {

  private static final String SIGV4 =
      "AWS4-HMAC-SHA256 Credential="
          + Base64.getEncoder().encodeToString("user:password".getBytes(StandardCharsets.UTF_8))
          + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature="
          + "0".repeat(64);

  private FakeRegistry fake;
  private TestServer server;

  @AfterEach
  void close() {
    if (server != null) {
      server.close();
    }
    if (fake != null) {
      fake.close();
    }
  }

  private void start(FakeRegistry.ByTarget behaviour) {
    fake = FakeRegistry.byTarget(behaviour);
    server = TestServer.forFaults(Duration.ofSeconds(2));
  }

  private HttpResponse<byte[]> s3(String method, String pathAndQuery, byte[] body)
      throws Exception {
    return server.send(
        method,
        "/" + fake.address() + "/a/b/" + pathAndQuery,
        body,
        SIGV4,
        "x-amz-content-sha256",
        "UNSIGNED-PAYLOAD");
  }

  private static void assertSlowDown(HttpResponse<byte[]> r, String retryAfter) {
    assertEquals(503, r.statusCode(), TestServer.text(r));
    assertTrue(TestServer.text(r).startsWith("<?xml"), TestServer.text(r));
    assertTrue(TestServer.text(r).contains("<Code>SlowDown</Code>"), TestServer.text(r));
    assertEquals(retryAfter, r.headers().firstValue("Retry-After").orElse(null));
  }

  @Test
  void a503RegistryIsSlowDownForReadsAndUploads() throws Exception {
    start((m, uri, reply) -> reply.send(503, "{}"));
    assertSlowDown(s3("GET", "x.narinfo", null), "5");
    HttpResponse<byte[]> head = s3("HEAD", "x.narinfo", null); // no body, as S3's own
    assertEquals(503, head.statusCode());
    assertEquals("5", head.headers().firstValue("Retry-After").orElse(null));
    assertSlowDown(s3("PUT", "x.narinfo", "StorePath: x\n".getBytes(StandardCharsets.UTF_8)), "5");
    assertSlowDown(s3("POST", "nar/x.nar?uploads", null), "5");
    // A plain client keeps the plain answer.
    HttpResponse<byte[]> plain = server.get("/" + fake.address() + "/a/b/x.narinfo", null);
    assertEquals(503, plain.statusCode());
    assertTrue(!TestServer.text(plain).contains("<Error>"), TestServer.text(plain));
  }

  @Test
  void rateLimitingIsSlowDownWithTheRegistrysRetryAfter() throws Exception {
    start((m, uri, reply) -> reply.send(429, "{}", "Retry-After", "3600"));
    assertSlowDown(s3("GET", "x.narinfo", null), "3600");
  }

  @Test
  void refusedCredentialsAreInvalidAccessKeyId() throws Exception {
    start(
        (m, uri, reply) ->
            reply.send(
                401,
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"no\"}]}",
                "WWW-Authenticate",
                "Basic realm=\"r\""));
    HttpResponse<byte[]> r = s3("GET", "x.narinfo", null);
    assertEquals(403, r.statusCode(), TestServer.text(r));
    assertTrue(TestServer.text(r).contains("<Code>InvalidAccessKeyId</Code>"), TestServer.text(r));
  }

  @Test
  void aRegistryFailingDuringAMultipartUploadIsSlowDownAndPublishesNothing() throws Exception {
    start(
        (m, uri, reply) -> {
          if (m.equals("POST") && uri.contains("/blobs/uploads/")) {
            reply.send(202, "", "Location", "/v2/a/b/blobs/uploads/session-1");
          } else if (m.equals("DELETE")) {
            reply.send(204, "");
          } else {
            reply.send(503, "{}");
          }
        });
    HttpResponse<byte[]> create = s3("POST", "nar/x.nar?uploads", null);
    assertEquals(200, create.statusCode(), TestServer.text(create));
    Matcher id = Pattern.compile("<UploadId>([^<]+)</UploadId>").matcher(TestServer.text(create));
    assertTrue(id.find());
    HttpResponse<byte[]> part =
        s3("PUT", "nar/x.nar?partNumber=1&uploadId=" + id.group(1), new byte[1000]);
    assertEquals(200, part.statusCode(), TestServer.text(part));
    String etag = part.headers().firstValue("ETag").orElseThrow();
    String xml =
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"
            + etag
            + "</ETag></Part></CompleteMultipartUpload>";
    // The part's bytes go up with the Complete, and the registry refuses them.
    assertSlowDown(
        s3("POST", "nar/x.nar?uploadId=" + id.group(1), xml.getBytes(StandardCharsets.UTF_8)), "5");
    assertTrue(
        fake.requestLines().stream().noneMatch(r -> r.contains("/manifests/")),
        fake.requests().toString());
    // The upload has failed for good; every later request says so, as SlowDown, until it is
    // aborted.
    assertSlowDown(s3("PUT", "nar/x.nar?partNumber=2&uploadId=" + id.group(1), new byte[10]), "5");
    assertEquals(204, s3("DELETE", "nar/x.nar?uploadId=" + id.group(1), null).statusCode());
    assertEquals(0, server.server.multipart().uploads());
  }
}
