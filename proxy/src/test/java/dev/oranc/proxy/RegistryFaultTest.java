package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.FakeRegistry;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a client of the server sees when the registry fails in each way SPEC §3 names: never a 404
 * for a failure, the right 4xx/5xx with a one-line body naming the registry, {@code Retry-After}
 * for rate limiting, and a broken stream as a broken connection, never a short 200.
 */
class RegistryFaultTest {

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
    start(behaviour, Duration.ofSeconds(1));
  }

  private void start(FakeRegistry.ByTarget behaviour, Duration readTimeout) {
    fake = FakeRegistry.byTarget(behaviour);
    server = TestServer.forFaults(readTimeout);
  }

  private HttpResponse<byte[]> get(String key) throws Exception {
    return server.get("/" + fake.address() + "/a/b/" + key, null);
  }

  private static void assertOneLineNaming(HttpResponse<byte[]> r, String what) {
    String body = TestServer.text(r);
    assertEquals(1, body.strip().lines().count(), body);
    assertTrue(body.contains(what), body);
    assertFalse(body.contains("\tat "), body);
  }

  @Test
  void a500RegistryIs502NamingTheRegistryAndIsRetriedMaxRetryTimes() throws Exception {
    start(
        (m, uri, reply) ->
            reply.send(500, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"disk on fire\"}]}"));
    HttpResponse<byte[]> r = get("x.narinfo");
    assertEquals(502, r.statusCode());
    assertOneLineNaming(r, fake.address());
    // Our words, not the registry's: its message is for the log (HostileRegistryTest).
    assertTrue(TestServer.text(r).contains("registry answered 500"), TestServer.text(r));
    assertFalse(TestServer.text(r).contains("disk on fire"), TestServer.text(r));
    assertEquals(2, fake.requests().size(), fake.requests().toString());
    // Failures are not cached: the next request asks again.
    get("x.narinfo");
    assertEquals(4, fake.requests().size());
  }

  @Test
  void a503RegistryIs503() throws Exception {
    start((m, uri, reply) -> reply.send(503, "{}"));
    HttpResponse<byte[]> r = get("x.narinfo");
    assertEquals(503, r.statusCode());
    assertOneLineNaming(r, fake.address());
  }

  @Test
  void rateLimitingIs503WithTheRegistrysRetryAfter() throws Exception {
    start((m, uri, reply) -> reply.send(429, "{}", "Retry-After", "3600"));
    HttpResponse<byte[]> r = get("x.narinfo");
    assertEquals(503, r.statusCode());
    assertEquals("3600", r.headers().firstValue("Retry-After").orElse(null));
    assertOneLineNaming(r, fake.address());
  }

  @Test
  void aRegistryThatDoesNotAnswerIs504() throws Exception {
    start((m, uri, reply) -> reply.stall());
    HttpResponse<byte[]> r = get("x.narinfo");
    assertEquals(504, r.statusCode());
    assertOneLineNaming(r, fake.address());
  }

  @Test
  void anUnreachableRegistryIs502() throws Exception {
    start((m, uri, reply) -> reply.stall());
    String gone = fake.address();
    fake.close();
    HttpResponse<byte[]> r = server.get("/" + gone + "/a/b/x.narinfo", null);
    assertEquals(502, r.statusCode());
    assertOneLineNaming(r, gone);
    fake = null;
  }

  @Test
  void registry401And403ArePassedOn() throws Exception {
    start(
        (m, uri, reply) ->
            reply.send(
                uri.contains("denied") ? 403 : 401,
                "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"no\"}]}"));
    assertEquals(401, get("x.narinfo").statusCode());
    assertEquals(403, get("denied.narinfo").statusCode());
  }

  @Test
  void aManifestThatIsNotACacheFilesIs502NamingWhatIsWrong() throws Exception {
    start(
        (m, uri, reply) ->
            reply.send(
                200,
                FakeRegistry.OCI_MANIFEST,
                NarManifests.manifest(5, 2).getBytes(StandardCharsets.UTF_8)));
    HttpResponse<byte[]> r = get("x.narinfo");
    assertEquals(502, r.statusCode());
    assertOneLineNaming(r, "2 layers");
    start2((m, uri, reply) -> reply.send(200, FakeRegistry.OCI_MANIFEST, "not json".getBytes()));
    assertEquals(502, get("y.narinfo").statusCode());
  }

  @Test
  void manifestsWithNoLayerOrAnotherMediaTypeAre502NamingWhatIsWrong() throws Exception {
    start(
        (m, uri, reply) ->
            reply.send(
                200,
                FakeRegistry.OCI_MANIFEST,
                (uri.contains("none")
                        ? NarManifests.manifest(5, 0)
                        : NarManifests.manifest(5, 1)
                            .replace(
                                "application/octet-stream",
                                "application/vnd.oci.image.layer.v1.tar+gzip"))
                    .getBytes(StandardCharsets.UTF_8)));
    HttpResponse<byte[]> none = get("none.narinfo");
    assertEquals(502, none.statusCode());
    assertOneLineNaming(none, "0 layers");
    HttpResponse<byte[]> other = get("other.narinfo");
    assertEquals(502, other.statusCode());
    assertOneLineNaming(other, "media type");
    assertEquals(200, server.get("/-/health", null).statusCode());
  }

  @Test
  void aStreamThatStallsMidBodyIsAbortedAfterTheReadTimeout() throws Exception {
    long size = 1 << 20;
    start(
        (m, uri, reply) -> {
          if (uri.contains("/manifests/")) {
            reply.send(
                200,
                FakeRegistry.OCI_MANIFEST,
                NarManifests.manifest(size, 1).getBytes(StandardCharsets.UTF_8));
          } else {
            reply.stallMidBody(size, new byte[200_000]);
          }
        });
    // The registry never sends the rest, so only the server's 1 s read timeout can end the body
    // (short, and before rawGet's 10 s socket timeout): no wall-clock bound needed.
    Raw r = rawGet("/" + fake.address() + "/a/b/nar/stall.nar", true);
    assertTrue(r.head.startsWith("HTTP/1.1 200"), r.head);
    assertTrue(r.bodyBytes < size, "the client got " + r.bodyBytes + " bytes and a clean end");
    assertEquals(200, server.get("/-/health", null).statusCode());
    server.awaitStreamsSettled();
    assertEquals(
        0, server.server.metrics().downloads().get(), "a relay is still counted in flight");
  }

  private void start2(FakeRegistry.ByTarget b) {
    server.close();
    fake.close();
    start(b);
  }

  /** A raw HTTP/1.1 GET: the status line, and how many body bytes came before the end. */
  private record Raw(String head, long contentLength, long bodyBytes) {}

  private Raw rawGet(String path, boolean readAll) throws Exception {
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int state = 0;
      while (state < 4) {
        int c = in.read();
        if (c < 0) {
          break;
        }
        head.write(c);
        state = (c == '\r' || c == '\n') ? state + 1 : 0;
      }
      String h = head.toString(StandardCharsets.US_ASCII);
      long length = -1;
      for (String line : h.split("\r\n")) {
        if (line.toLowerCase().startsWith("content-length:")) {
          length = Long.parseLong(line.substring(15).trim());
        }
      }
      long n = 0;
      if (readAll) {
        byte[] buf = new byte[65536];
        int k;
        while (n < length && (k = in.read(buf)) > 0) {
          n += k;
        }
      }
      return new Raw(h, length, n);
    }
  }

  @Test
  void aStreamThatBreaksMidBodyEndsInABrokenConnectionNotAShort200() throws Exception {
    long size = 1 << 20;
    start(
        (m, uri, reply) -> {
          if (uri.contains("/manifests/")) {
            reply.send(
                200,
                FakeRegistry.OCI_MANIFEST,
                NarManifests.manifest(size, 1).getBytes(StandardCharsets.UTF_8));
          } else {
            reply.truncate(size, new byte[300_000]);
          }
        });
    Raw r = rawGet("/" + fake.address() + "/a/b/nar/x.nar", true);
    assertTrue(r.head.startsWith("HTTP/1.1 200"), r.head);
    assertEquals(size, r.contentLength);
    assertTrue(r.bodyBytes < size, "the client got " + r.bodyBytes + " bytes and a clean end");
    // The server is fine afterwards.
    assertEquals(200, server.get("/-/health", null).statusCode());
  }

  @Test
  void aClientThatGoesAwayMidDownloadClosesTheRegistryStreamPromptly() throws Exception {
    long size = 100L << 20;
    start(
        (m, uri, reply) -> {
          if (uri.contains("/manifests/")) {
            reply.send(
                200,
                FakeRegistry.OCI_MANIFEST,
                NarManifests.manifest(size, 1).getBytes(StandardCharsets.UTF_8));
          } else {
            reply.stallMidBody(size, new byte[100_000]);
          }
        },
        Duration.ofSeconds(30)); // so that only a cancel, not a read timeout, closes it in time
    // The manifest's connection stays pooled; count the blob connection's close only.
    fake.watchCloses();
    Raw r = rawGet("/" + fake.address() + "/a/b/nar/y.nar", false); // reads the head, then hangs up
    assertTrue(r.head.startsWith("HTTP/1.1 200"), r.head);
    assertTrue(fake.awaitClose(3000), "the registry stream was not closed after the client left");
    server.awaitStreamsSettled();
    assertEquals(
        0, server.server.metrics().downloads().get(), "a relay is still counted in flight");
  }
}
