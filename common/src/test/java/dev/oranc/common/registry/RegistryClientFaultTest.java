package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.error.RegistryException.Unavailable.Reason;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.oci.TagList;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.throttle.Throttling;
import dev.oranc.common.registry.transport.ConnectionFailure;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import dev.oranc.testkit.FakeRegistry;
import io.netty.buffer.Unpooled;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The registry client against a registry that fails on purpose: what is retried, how often, what
 * the caller sees, and that a broken download never looks like a complete one.
 */
class RegistryClientFaultTest {

  private static final RepositoryRef REPO_PLACEHOLDER = null;
  static final String MANIFEST_JSON =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
          + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:"
          + "a".repeat(64)
          + "\",\"size\":2},"
          + "\"layers\":[{\"mediaType\":\"application/octet-stream\",\"digest\":\"sha256:"
          + "b".repeat(64)
          + "\",\"size\":5,\"annotations\":{\"com.linyinfeng.oranc.content.type\":\"text/x-nix-narinfo\"}}]}";

  private FakeRegistry fake;
  private RegistryClient client;

  private RegistryClient client(int attempts, Duration readTimeout) {
    client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .maxAttempts(attempts)
                .readTimeout(readTimeout)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(40))
                .maxRetryAfter(Duration.ofSeconds(5))
                .build());
    return client;
  }

  private RepositoryRef repo() {
    return RepositoryRef.of(fake.address(), "owner/cache");
  }

  @AfterEach
  void close() {
    if (client != null) {
      client.close();
    }
    if (fake != null) {
      fake.close();
    }
  }

  static <T> T await(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  static Throwable failure(CompletableFuture<?> f) {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
    return Causes.of(e);
  }

  @Test
  void a500ThenSuccessIsRetried() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (n == 1) {
                reply.send(500, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"boom\"}]}");
              } else {
                reply.send(
                    200, Manifest.OCI_MANIFEST, MANIFEST_JSON.getBytes(StandardCharsets.UTF_8));
              }
            });
    Optional<Manifest> m =
        await(
            client(3, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    assertTrue(m.isPresent());
    assertEquals(1, m.get().layers().size());
    assertEquals(2, fake.requests().size());
  }

  @Test
  void a429WaitsForRetryAfterThenSucceeds() throws Exception {
    // What the client decided, read from its own count when the request comes back: the pause it
    // took is the registry's Retry-After, and none of it is left (the request waited it out). A
    // busy machine can only make the wait longer, which changes neither figure.
    AtomicReference<Throttling> atResend = new AtomicReference<>();
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (n == 1) {
                reply.send(
                    429,
                    "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"slow down\"}]}",
                    "Retry-After",
                    "1");
              } else {
                atResend.set(client.throttling());
                reply.send(
                    200, Manifest.OCI_MANIFEST, MANIFEST_JSON.getBytes(StandardCharsets.UTF_8));
              }
            });
    Optional<Manifest> m =
        await(
            client(3, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    assertTrue(m.isPresent());
    assertEquals(2, fake.requests().size());
    // Throttling counts the pause announced less what is still ahead of it: a request sent again
    // before the pause ended would see less than the whole second here.
    assertEquals(new Throttling(1, Duration.ofSeconds(1)), atResend.get());
    assertEquals(new Throttling(1, Duration.ofSeconds(1)), client.throttling());
  }

  @Test
  void a429WithALongRetryAfterIsReportedNotWaitedFor() {
    fake = new FakeRegistry((n, req, reply) -> reply.send(429, "{}", "Retry-After", "3600"));
    Throwable t =
        failure(
            client(3, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    RegistryException.RateLimited e = assertInstanceOf(RegistryException.RateLimited.class, t);
    assertEquals(3600, e.retryAfterSeconds());
    assertEquals(1, fake.requests().size());
  }

  @Test
  void endless500sMakeExactlyMaxAttemptsThenUnavailableNamingTheRegistry() {
    fake =
        new FakeRegistry(
            (n, req, reply) ->
                reply.send(
                    500, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"disk on fire\"}]}"));
    Throwable t =
        failure(
            client(4, Duration.ofSeconds(5))
                .getManifest(repo(), "tag1", Credentials.anonymous(), null));
    RegistryException.Unavailable e = assertInstanceOf(RegistryException.Unavailable.class, t);
    assertEquals(4, fake.requests().size());
    assertEquals(500, e.status());
    assertEquals(Reason.SERVER_ERROR, e.reason());
    assertTrue(e.getMessage().contains(fake.address() + "/owner/cache:tag1"), e.getMessage());
    assertTrue(e.getMessage().contains("disk on fire"), e.getMessage());
  }

  @Test
  void maxRetryOfOneMeansOneAttempt() {
    fake = new FakeRegistry((n, req, reply) -> reply.send(503, "{}"));
    Throwable t =
        failure(
            client(1, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    assertInstanceOf(RegistryException.Unavailable.class, t);
    assertEquals(1, fake.requests().size());
  }

  private static final String LINK_READ_EMPTY =
      "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"provided digest did not match"
          + " uploaded content\"},{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown to"
          + " registry\"}]}";

  private static Manifest aManifest() {
    return Manifest.parse(
        MANIFEST_JSON.getBytes(StandardCharsets.UTF_8), "t", Manifest.OCI_MANIFEST);
  }

  @Test
  void aManifestPutToldABlobJustStoredIsUnknownIsSentAgain() throws Exception {
    // The CNCF registry's answer when another upload of the same blob rewrites its link file at
    // the moment the manifest PUT reads it (seen in the suite: two NARs with the same bytes).
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (n <= 2) {
                reply.send(400, LINK_READ_EMPTY);
              } else {
                reply.send(
                    201,
                    "",
                    "Docker-Content-Digest",
                    Digest.sha256(aManifest().toJson()).toString());
              }
            });
    Digest d =
        await(
            client(3, Duration.ofSeconds(5))
                .putManifest(repo(), "t", aManifest(), Credentials.anonymous(), null));
    assertEquals(Digest.sha256(aManifest().toJson()), d);
    assertEquals(3, fake.requests().size());
    assertTrue(
        fake.requests().stream().allMatch(r -> r.method().equals("PUT")),
        fake.requests().toString());
  }

  @Test
  void aManifestWhoseBlobStaysUnknownFailsAfterTheRetriesNamingTheRegistrysWords() {
    fake = new FakeRegistry((n, req, reply) -> reply.send(400, LINK_READ_EMPTY));
    Throwable t =
        failure(
            client(3, Duration.ofSeconds(5))
                .putManifest(repo(), "t", aManifest(), Credentials.anonymous(), null));
    assertInstanceOf(RegistryException.class, t);
    assertTrue(t.getMessage().contains("DIGEST_INVALID"), t.getMessage());
    assertEquals(1 + RegistryClient.MANIFEST_BLOB_UNKNOWN_RETRIES, fake.requests().size());
  }

  @Test
  void aManifestTheRegistryFindsInvalidIsNotSentAgain() {
    fake =
        new FakeRegistry(
            (n, req, reply) ->
                reply.send(
                    400,
                    "{\"errors\":[{\"code\":\"MANIFEST_INVALID\",\"message\":\"manifest"
                        + " invalid\"},{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob"
                        + " unknown to registry\"}]}"));
    Throwable t =
        failure(
            client(3, Duration.ofSeconds(5))
                .putManifest(repo(), "t", aManifest(), Credentials.anonymous(), null));
    assertTrue(t.getMessage().contains("MANIFEST_INVALID"), t.getMessage());
    assertEquals(1, fake.requests().size());
  }

  @Test
  void notFoundIsAnAnswerNotAFailureAndIsNotRetried() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> reply.send(404, "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}"));
    assertEquals(
        Optional.empty(),
        await(
            client(3, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null)));
    assertEquals(1, fake.requests().size());
  }

  @Test
  void aConnectionClosedWithoutAnswerIsRetriedThenUnreachable() {
    fake = new FakeRegistry((n, req, reply) -> reply.hangUp());
    Throwable t =
        failure(
            client(3, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    RegistryException.Unavailable e = assertInstanceOf(RegistryException.Unavailable.class, t);
    assertEquals(Reason.UNREACHABLE, e.reason());
    assertEquals(3, fake.requests().size());
    assertTrue(e.getMessage().contains("after 3 attempts"), e.getMessage());
  }

  @Test
  void aRegistryThatIsNotThereIsUnreachable() throws Exception {
    fake = new FakeRegistry((n, req, reply) -> reply.stall());
    String address = fake.address();
    fake.close();
    Throwable t =
        failure(
            client(2, Duration.ofSeconds(5))
                .getManifest(RepositoryRef.of(address, "a/b"), "t", Credentials.anonymous(), null));
    RegistryException.Unavailable e = assertInstanceOf(RegistryException.Unavailable.class, t);
    assertEquals(Reason.UNREACHABLE, e.reason());
    assertTrue(e.getMessage().contains("cannot connect to http://" + address), e.getMessage());
    fake = null;
  }

  @Test
  void aStallBeforeTheAnswerTimesOut() {
    fake = new FakeRegistry((n, req, reply) -> reply.stall());
    Throwable t =
        failure(
            client(1, Duration.ofSeconds(1))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    RegistryException.Unavailable e = assertInstanceOf(RegistryException.Unavailable.class, t);
    assertEquals(Reason.TIMEOUT, e.reason());
    // The read-timeout kind before any of the answer: no status, nothing of a response.
    assertEquals(0, e.status());
    assertTrue(
        e.publicMessage().endsWith("the registry did not answer in time (read timeout)"),
        e.publicMessage());
    ConnectionFailure f = assertInstanceOf(ConnectionFailure.class, e.getCause());
    assertEquals(ConnectionFailure.Kind.TIMEOUT, f.kind());
    assertFalse(f.responseStarted());
    // Not before the 1 s read timeout, by the connection's own measure of the silence it gave up
    // on; how long after it is the machine's business.
    Matcher waited = Pattern.compile(" sent nothing for (\\d+) s").matcher(f.detail());
    assertTrue(waited.find(), f.detail());
    assertTrue(Long.parseLong(waited.group(1)) >= 1, f.detail());
    assertEquals(1, fake.requests().size());
  }

  @Test
  void aDownloadCutShortEndsInAnErrorNeverInCompletion() throws Exception {
    byte[] partial = new byte[100_000];
    fake = new FakeRegistry((n, req, reply) -> reply.truncate(200, 1_000_000, partial));
    BlobDownload d =
        await(
            client(3, Duration.ofSeconds(5))
                .getBlob(repo(), new Digest("c".repeat(64)), null, Credentials.anonymous(), null));
    assertEquals(1_000_000, d.contentLength());
    CollectingConsumer c = new CollectingConsumer(0);
    d.start(c);
    Throwable t = failure(c.done);
    assertInstanceOf(RegistryException.Unavailable.class, t);
    assertTrue(c.count() <= partial.length);
    assertEquals(1, c.completions);
    assertEquals(1, fake.requests().size(), "a body that broke after it began is not retried");
  }

  @Test
  void aDownloadThatStallsMidBodyTimesOut() throws Exception {
    fake = new FakeRegistry((n, req, reply) -> reply.stallMidBody(200, 1_000_000, new byte[1000]));
    BlobDownload d =
        await(
            client(3, Duration.ofMillis(500))
                .getBlob(repo(), new Digest("c".repeat(64)), null, Credentials.anonymous(), null));
    CollectingConsumer c = new CollectingConsumer(0);
    d.start(c);
    RegistryException.Unavailable e =
        assertInstanceOf(RegistryException.Unavailable.class, failure(c.done));
    assertEquals(Reason.TIMEOUT, e.reason());
  }

  @Test
  void aPausedDownloadDoesNotTimeOut() throws Exception {
    byte[] blob = new byte[3000];
    Digest witnessDigest = new Digest("e".repeat(64));
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (req.uri().contains(witnessDigest.hex())) {
                reply.stallMidBody(200, 1_000_000, new byte[1000]);
              } else {
                reply.send(200, "application/octet-stream", blob);
              }
            });
    // One event loop: the paused download's timeout checks and the witness's run on one clock, in
    // the order they are due.
    client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .maxAttempts(1)
                .readTimeout(Duration.ofMillis(300))
                .build(),
            Transport.newGroup(1, "paused-download-test"),
            true,
            Ticker.systemTicker());
    BlobDownload d =
        await(
            client.getBlob(
                repo(), new Digest("c".repeat(64)), null, Credentials.anonymous(), null));
    d.pause();
    // The witness: a download begun after the pause whose registry goes silent. Its read timeout
    // ending it is the event that shows a whole read timeout has passed for the paused one too,
    // however slow the machine, with every timeout check of the paused one due by then run first.
    BlobDownload witness =
        await(client.getBlob(repo(), witnessDigest, null, Credentials.anonymous(), null));
    CollectingConsumer w = new CollectingConsumer(0);
    witness.start(w);
    RegistryException.Unavailable timedOut =
        assertInstanceOf(RegistryException.Unavailable.class, failure(w.done));
    assertEquals(Reason.TIMEOUT, timedOut.reason());
    CollectingConsumer c = new CollectingConsumer(blob.length);
    d.start(c);
    d.resume();
    assertEquals(blob.length, await(c.done));
    assertArrayEquals(blob, c.bytes());
  }

  @Test
  void aManifestThatIsNotJsonIsAProtocolError() {
    fake =
        new FakeRegistry(
            (n, req, reply) ->
                reply.send(
                    200,
                    Manifest.OCI_MANIFEST,
                    "<html>oops</html>".getBytes(StandardCharsets.UTF_8)));
    Throwable t =
        failure(
            client(3, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    RegistryException.Protocol e = assertInstanceOf(RegistryException.Protocol.class, t);
    assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    assertEquals(1, fake.requests().size());
  }

  @Test
  void aManifestOverTheBoundIsRefused() {
    byte[] huge =
        ("{\"schemaVersion\":2,\"x\":\"" + "y".repeat(5 << 20) + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    fake = new FakeRegistry((n, req, reply) -> reply.send(200, Manifest.OCI_MANIFEST, huge));
    Throwable t =
        failure(
            client(3, Duration.ofSeconds(5))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    RegistryException.Protocol e = assertInstanceOf(RegistryException.Protocol.class, t);
    assertTrue(e.getMessage().contains("larger than " + (4 << 20)), e.getMessage());
  }

  @Test
  void anImageWithTwoLayersIsAnErrorNamingTheTag() {
    String twoLayers =
        MANIFEST_JSON.replace(
            "}}]}",
            "}},{\"mediaType\":\"application/octet-stream\",\"digest\":\"sha256:"
                + "d".repeat(64)
                + "\",\"size\":1}]}");
    fake =
        new FakeRegistry(
            (n, req, reply) ->
                reply.send(200, Manifest.OCI_MANIFEST, twoLayers.getBytes(StandardCharsets.UTF_8)));
    OciBinaryCache cache = new OciBinaryCache(client(3, Duration.ofSeconds(5)), TagCodec.DEFAULT);
    Throwable t = failure(cache.find(repo(), "abc.narinfo", Credentials.anonymous(), null));
    RegistryException.Protocol e = assertInstanceOf(RegistryException.Protocol.class, t);
    assertTrue(e.getMessage().contains(":abc.narinfo"), e.getMessage());
    assertTrue(e.getMessage().contains("2 layers"), e.getMessage());
  }

  @Test
  void aFailingMainTagIsNotReportedAsAMissEvenWhenTheFallbackIsMissing() {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (req.uri().endsWith("/manifests/abc.narinfo")) {
                reply.send(503, "{}");
              } else {
                reply.send(404, "{}");
              }
            });
    OciBinaryCache cache =
        new OciBinaryCache(
            client(1, Duration.ofSeconds(5)),
            new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.BASE32_DNSSEC)));
    Throwable t = failure(cache.find(repo(), "abc.narinfo", Credentials.anonymous(), null));
    assertInstanceOf(RegistryException.Unavailable.class, t);
    assertEquals(2, fake.requests().size());
  }

  @Test
  void redirectsToAnotherHostDropAuthorization() throws Exception {
    byte[] blob = "hello".getBytes(StandardCharsets.UTF_8);
    try (FakeRegistry storage =
        new FakeRegistry((n, req, reply) -> reply.send(200, "application/octet-stream", blob))) {
      String storageUrl =
          "http://localhost:" + storage.address().split(":")[1] + "/blob?sig=secret";
      fake =
          new FakeRegistry(
              (n, req, reply) -> {
                if (!req.headers().contains("Authorization")) {
                  reply.send(401, "{}", "WWW-Authenticate", "Basic realm=\"fake\"");
                } else {
                  reply.send(307, "application/json", new byte[0], "Location", storageUrl);
                }
              });
      BlobDownload d =
          await(
              client(3, Duration.ofSeconds(5))
                  .getBlob(
                      repo(),
                      new Digest("c".repeat(64)),
                      "bytes=0-4",
                      Credentials.basic("u", "p"),
                      null));
      CollectingConsumer c = new CollectingConsumer(100);
      d.start(c);
      assertEquals(5, await(c.done));
      assertArrayEquals(blob, c.bytes());
      assertEquals(2, fake.requests().size());
      assertTrue(
          fake.requests().get(1).headers().contains("Authorization"),
          "the registry, having asked, gets the credentials");
      assertEquals("bytes=0-4", storage.requests().get(0).headers().get("Range"));
      assertFalse(
          storage.requests().get(0).headers().contains("Authorization"), "another host does not");
    }
  }

  @Test
  void bearerChallengeLeadsToOneTokenForManyRequests() throws Exception {
    Map<String, String> seen = new ConcurrentHashMap<>();
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (req.uri().startsWith("/token")) {
                seen.put("token-auth", String.valueOf(req.headers().get("Authorization")));
                seen.put("token-uri", req.uri());
                reply.send(200, "{\"token\":\"tok-123\",\"expires_in\":300}");
                return;
              }
              if (!"Bearer tok-123".equals(req.headers().get("Authorization"))) {
                reply.send(
                    401,
                    "{}",
                    "WWW-Authenticate",
                    "Bearer realm=\"http://"
                        + fake.address()
                        + "/token\",service=\"fake\",scope=\"repository:owner/cache:pull\"");
                return;
              }
              reply.send(
                  200, Manifest.OCI_MANIFEST, MANIFEST_JSON.getBytes(StandardCharsets.UTF_8));
            });
    RegistryClient c = client(3, Duration.ofSeconds(5));
    for (int i = 0; i < 5; i++) {
      assertTrue(
          await(c.getManifest(repo(), "t" + i, Credentials.basic("user", "pw"), null)).isPresent());
    }
    assertEquals(1, c.tokenFetches());
    assertEquals("Basic dXNlcjpwdw==", seen.get("token-auth"));
    assertEquals(
        "/token?service=fake&scope=repository%3Aowner%2Fcache%3Apull", seen.get("token-uri"));
    // 1 unauthenticated request, 1 token request, then 5 with the token.
    assertEquals(7, fake.requests().size());
  }

  @Test
  void anUploadWhosePatchBreaksFailsWholeAndCommitsNothing() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (req.method().equals("POST")) {
                reply.send(
                    202,
                    "application/json",
                    new byte[0],
                    "Location",
                    "/v2/owner/cache/blobs/uploads/u1");
              } else if (req.method().equals("PATCH")) {
                reply.hangUp();
              } else if (req.method().equals("HEAD")) {
                reply.send(404, "{}");
              } else {
                reply.send(201, "{}");
              }
            });
    RegistryClient c = client(3, Duration.ofSeconds(5));
    // Larger than a chunk, so that it streams.
    int size = RegistryClientConfig.DEFAULT_UPLOAD_CHUNK_BYTES + 1000;
    BlobUpload upload =
        c.upload(repo(), size, "application/octet-stream", Credentials.anonymous(), null);
    upload.write(Unpooled.wrappedBuffer(new byte[size]));
    Throwable t = failure(upload.finish());
    assertInstanceOf(RegistryException.Unavailable.class, t);
    assertTrue(
        fake.requests().stream().noneMatch(r -> r.method().equals("PUT")),
        "nothing may be committed");
    assertEquals(
        1,
        fake.requests().stream().filter(r -> r.method().equals("PATCH")).count(),
        "a PATCH whose bytes are gone is not sent again");
  }

  @Test
  void anUploadShorterThanAnnouncedFails() throws Exception {
    fake = new FakeRegistry((n, req, reply) -> reply.send(404, "{}"));
    BlobUpload upload =
        client(3, Duration.ofSeconds(5))
            .upload(repo(), 1000, "application/octet-stream", Credentials.anonymous(), null);
    upload.write(Unpooled.wrappedBuffer(new byte[10]));
    RegistryException.Protocol e =
        assertInstanceOf(RegistryException.Protocol.class, failure(upload.finish()));
    assertTrue(e.getMessage().contains("ended after 10 of the 1000 bytes"), e.getMessage());
    assertTrue(fake.requests().isEmpty(), fake.requests().toString());
  }

  @Test
  void tlsIsTheDefaultAndAnUntrustedCertificateIsRefused() throws Exception {
    SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
    SslContext serverTls =
        SslContextBuilder.forServer(cert.certificate(), cert.privateKey()).build();
    fake = new FakeRegistry((n, req, reply) -> reply.send(200, "{}"), serverTls);
    client = new RegistryClient(RegistryClientConfig.builder().maxAttempts(3).build());
    Throwable t = failure(client.getManifest(repo(), "t", Credentials.basic("u", "p"), null));
    RegistryException.Unavailable e = assertInstanceOf(RegistryException.Unavailable.class, t);
    assertTrue(
        e.getMessage().contains("TLS with https://" + fake.address() + " failed"), e.getMessage());
    assertTrue(e.getMessage().contains("--no-ssl"), e.getMessage());
    assertTrue(fake.requests().isEmpty(), "no request may reach an untrusted server");
    cert.delete();
  }

  @Test
  void tagPagesAreFollowedThroughLinkHeadersUpToTheLimit() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              String uri = req.uri();
              if (uri.equals("/v2/owner/cache/tags/list?n=2")) {
                reply.send(
                    200,
                    "{\"name\":\"owner/cache\",\"tags\":[\"a\",\"b\"]}",
                    "Link",
                    "</v2/owner/cache/tags/list?last=b&n=2>; rel=\"next\"");
              } else if (uri.equals("/v2/owner/cache/tags/list?last=b&n=2")) {
                reply.send(
                    200,
                    "{\"name\":\"owner/cache\",\"tags\":[\"c\",\"d\"]}",
                    "Link",
                    "<http://"
                        + fake.address()
                        + "/v2/owner/cache/tags/list?last=d&n=2>; rel=next");
              } else if (uri.equals("/v2/owner/cache/tags/list?last=d&n=2")) {
                reply.send(200, "{\"name\":\"owner/cache\",\"tags\":null}");
              } else {
                reply.send(404, "{}");
              }
            });
    RegistryClient c = client(1, Duration.ofSeconds(5));
    assertEquals(
        new TagList(List.of("a", "b", "c", "d"), true),
        await(c.listTags(repo(), 2, 10, Credentials.anonymous(), null)));
    assertEquals(
        new TagList(List.of("a", "b"), false),
        await(c.listTags(repo(), 2, 1, Credentials.anonymous(), null)));
  }

  @Test
  void aNextTagPageOnAnotherHostIsRefused() {
    fake =
        new FakeRegistry(
            (n, req, reply) ->
                reply.send(
                    200,
                    "{\"tags\":[\"a\"]}",
                    "Link",
                    "<http://elsewhere.example/v2/x/tags/list?last=a>; rel=\"next\""));
    Throwable t =
        failure(
            client(1, Duration.ofSeconds(5))
                .listTags(repo(), 2, 10, Credentials.anonymous(), null));
    RegistryException.Protocol e = assertInstanceOf(RegistryException.Protocol.class, t);
    assertTrue(e.getMessage().contains("elsewhere.example"), e.getMessage());
  }
}
