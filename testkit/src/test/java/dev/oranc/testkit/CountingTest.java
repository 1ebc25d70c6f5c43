package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The counting proxy and the access log, driven by a plain JDK client playing a registry client
 * that checks for a blob before uploading it.
 */
class CountingTest {

  @RegisterExtension
  static final RegistryExtension extension = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private Registry registry;

  @BeforeEach
  void setUp(Registry registry) {
    this.registry = registry;
    registry.resetCounters();
  }

  private static HttpResponse<byte[]> send(HttpRequest.Builder request) throws Exception {
    return http.send(
        request.header("User-Agent", "counting-test").build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /** HEAD, and if missing POST + PUT: what a client that skips known blobs does. */
  private static void upload(
      URI base, String repository, byte[] blob, boolean chunked, boolean expectContinue)
      throws Exception {
    String digest = RawClient.digest(blob);
    HttpResponse<byte[]> head =
        send(
            HttpRequest.newBuilder(base.resolve("/v2/" + repository + "/blobs/" + digest))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
    if (head.statusCode() == 200) {
      return;
    }
    assertEquals(404, head.statusCode());
    HttpResponse<byte[]> post =
        send(
            HttpRequest.newBuilder(base.resolve("/v2/" + repository + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertEquals(202, post.statusCode());
    URI location = base.resolve(post.headers().firstValue("Location").orElseThrow());
    assertEquals(base.getAuthority(), location.getAuthority(), "Location points back at the proxy");
    HttpRequest.BodyPublisher body =
        chunked
            ? HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(blob))
            : HttpRequest.BodyPublishers.ofByteArray(blob);
    HttpResponse<byte[]> put =
        send(
            HttpRequest.newBuilder(
                    URI.create(
                        location + "&digest=" + URLEncoder.encode(digest, StandardCharsets.UTF_8)))
                .expectContinue(expectContinue)
                .header("Content-Type", "application/octet-stream")
                .PUT(body));
    assertEquals(201, put.statusCode(), new String(put.body(), StandardCharsets.UTF_8));
  }

  private static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void secondUploadOfTheSameBlobSendsNoBody() throws Exception {
    byte[] blob = randomBytes(200_000, 1);
    upload(registry.proxyUri(), "testkit/count", blob, false, false);
    upload(registry.proxyUri(), "testkit/count", blob, false, false);

    List<ProxiedRequest> all = registry.proxiedRequests();
    assertEquals(
        List.of("HEAD 404", "POST 202", "PUT 201", "HEAD 200"),
        all.stream().map(r -> r.method() + " " + r.status()).toList());
    assertEquals(blob.length, all.get(2).bodyBytes());
    assertEquals(0, all.get(3).bodyBytes());
    assertEquals(0, all.get(3).responseBodyBytes(), "HEAD has no body");
    assertEquals(1, registry.proxiedRequests("PUT", "/v2/testkit/count/blobs/uploads/.*").size());
    assertEquals(
        blob.length,
        registry.proxiedRequests().stream().mapToLong(ProxiedRequest::bodyBytes).sum(),
        "only the first upload carried the blob");
    assertArrayEquals(blob, registry.getBlob("testkit/count", RawClient.digest(blob)));
  }

  @Test
  void chunkedBodiesAndContinueAreForwardedAndCounted() throws Exception {
    byte[] blob = randomBytes(70_000, 2);
    upload(registry.proxyUri(), "testkit/chunked", blob, true, true);
    ProxiedRequest put =
        registry.proxiedRequests("PUT", "/v2/testkit/chunked/blobs/uploads/.*").get(0);
    assertEquals(201, put.status());
    assertEquals(blob.length, put.bodyBytes(), "payload bytes, framing not counted");

    HttpResponse<byte[]> get =
        send(
            HttpRequest.newBuilder(
                registry
                    .proxyUri()
                    .resolve("/v2/testkit/chunked/blobs/" + RawClient.digest(blob))));
    assertArrayEquals(blob, get.body());
    ProxiedRequest last = registry.proxiedRequests().get(registry.proxiedRequests().size() - 1);
    assertEquals("GET", last.method());
    assertEquals(blob.length, last.responseBodyBytes());
    assertEquals(null, last.authorizationScheme());
  }

  @Test
  void accessLogShowsDirectRequestsButNotTheHarness() throws Exception {
    byte[] blob = randomBytes(1_000, 3);
    registry.putBlob("testkit/seeded", blob);
    upload(registry.baseUri(), "testkit/direct", blob, false, false);
    upload(registry.baseUri(), "testkit/direct", blob, false, false);

    List<AccessLogEntry> log = registry.accessLog();
    assertEquals(
        List.of("HEAD 404", "POST 202", "PUT 201", "HEAD 200"),
        log.stream().map(e -> e.method() + " " + e.status()).toList(),
        log.toString());
    assertEquals(1, registry.accessLog("PUT", "/v2/testkit/direct/blobs/uploads/.*").size());
    assertTrue(log.get(2).uri().contains("digest=sha256"), log.get(2).uri());
    assertEquals("counting-test", log.get(0).userAgent());
    assertEquals(List.of(), registry.proxiedRequests(), "nothing went through the proxy");
  }
}
