package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Origin;
import dev.oranc.testkit.FakeRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An upload's PATCH goes through {@link CallRunner} with a streamed body, and is sent exactly once:
 * with the session's credentials, but never again after an answer that would make another call send
 * itself again (a rate limit, a 5xx, a redirect, a 401), and outside the rate-limit windows.
 * Cancelling the upload closes the PATCH's connection.
 */
class StreamedPatchTest {

  private static final String SESSION = "/v2/owner/cache/blobs/uploads/u1";

  /** Larger than a chunk, so that the body streams in PATCHes. */
  private static final int SIZE = RegistryClientConfig.DEFAULT_UPLOAD_CHUNK_BYTES + 1000;

  private FakeRegistry fake;
  private RegistryClient client;

  private RegistryClient client() {
    client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .maxAttempts(3)
                .readTimeout(Duration.ofSeconds(30))
                .backoff(Duration.ofMillis(10), Duration.ofMillis(40))
                .maxRetryAfter(Duration.ofSeconds(30))
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

  private long count(String method) {
    return fake.requests().stream().filter(r -> r.method().equals(method)).count();
  }

  private static Throwable failure(CompletableFuture<?> f) {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
    return Causes.of(e);
  }

  private static void awaitTrue(BooleanSupplier condition, Callable<String> describe)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + describe.call());
      }
      Thread.sleep(10);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {500, 502, 503, 504, 429, 307, 401})
  void aPatchIsSentOnceWhateverTheAnswer(int status) throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              switch (req.method()) {
                case "POST" ->
                    reply.send(202, "application/json", new byte[0], "Location", SESSION);
                case "PATCH" ->
                    reply.send(
                        status,
                        "{}",
                        "Retry-After",
                        "1",
                        "Location",
                        SESSION,
                        "WWW-Authenticate",
                        "Basic realm=\"fake\"");
                default -> reply.send(202, "{}");
              }
            });
    RegistryClient c = client();
    BlobUpload upload =
        c.upload(repo(), SIZE, "application/octet-stream", Credentials.basic("user", "pw"), null);
    upload.write(Unpooled.wrappedBuffer(new byte[SIZE]));
    Throwable t = failure(upload.finish());
    assertInstanceOf(RegistryException.class, t);
    assertTrue(t.getMessage().startsWith("PATCH "), t.getMessage());
    if (status == 429) {
      assertInstanceOf(RegistryException.RateLimited.class, t);
    }
    assertEquals(
        1, count("PATCH"), () -> "a PATCH whose bytes are gone is sent once: " + fake.requests());
    assertEquals(0, count("PUT"), "nothing may be committed");
    assertEquals(0, c.throttling().rateLimitAnswers(), "a PATCH is outside the rate-limit windows");
  }

  @Test
  void aPatchCarriesTheCredentialsTheSessionLearnt() throws Exception {
    String basic = "Basic dXNlcjpwdw==";
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (!basic.equals(req.headers().get("Authorization"))) {
                reply.send(401, "{}", "WWW-Authenticate", "Basic realm=\"fake\"");
                return;
              }
              switch (req.method()) {
                case "POST" ->
                    reply.send(202, "application/json", new byte[0], "Location", SESSION);
                case "PATCH" ->
                    reply.send(
                        202,
                        "application/json",
                        new byte[0],
                        "Location",
                        SESSION,
                        "Range",
                        "0-" + req.headers().get("Content-Range").split("-")[1]);
                default -> reply.send(201, "{}");
              }
            });
    byte[] content = new byte[SIZE];
    for (int i = 0; i < content.length; i++) {
      content[i] = (byte) i;
    }
    BlobUpload upload =
        client()
            .upload(
                repo(), SIZE, "application/octet-stream", Credentials.basic("user", "pw"), null);
    upload.write(Unpooled.wrappedBuffer(content));
    Descriptor d = upload.finish().get(30, TimeUnit.SECONDS);
    assertEquals(SIZE, d.size());
    List<FakeRegistry.Request> patches =
        fake.requests().stream().filter(r -> r.method().equals("PATCH")).toList();
    assertTrue(patches.size() >= 2, fake.requests().toString());
    byte[] sent = new byte[SIZE];
    int at = 0;
    for (FakeRegistry.Request p : patches) {
      assertEquals(basic, p.headers().get("Authorization"));
      assertEquals(at + "-" + (at + p.body().length - 1), p.headers().get("Content-Range"));
      assertEquals(String.valueOf(p.body().length), p.headers().get("Content-Length"));
      assertEquals("application/octet-stream", p.headers().get("Content-Type"));
      System.arraycopy(p.body(), 0, sent, at, p.body().length);
      at += p.body().length;
    }
    assertArrayEquals(content, sent);
    // Only the first request met the 401: the PATCHes went with what the POST taught.
    assertEquals(
        1,
        fake.requests().stream().filter(r -> r.headers().get("Authorization") == null).count(),
        fake.requests().toString());
  }

  @Test
  void abortingTheUploadClosesThePatchsConnection() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              switch (req.method()) {
                case "POST" ->
                    reply.send(202, "application/json", new byte[0], "Location", SESSION);
                case "PATCH" -> reply.stall();
                default -> reply.send(204, "{}");
              }
            });
    RegistryClient c = client();
    BlobUpload upload =
        c.upload(repo(), SIZE, "application/octet-stream", Credentials.anonymous(), null);
    upload.write(Unpooled.wrappedBuffer(new byte[SIZE]));
    awaitTrue(() -> count("PATCH") == 1, () -> fake.requests().toString());
    IllegalStateException cause = new IllegalStateException("the producer gave up");
    upload.abort(cause);
    assertSame(cause, failure(upload.result()));
    awaitTrue(() -> count("DELETE") == 1, () -> fake.requests().toString());
    EventLoop loop = upload.eventLoop();
    Origin origin = c.registryOrigin(repo());
    // Without the cancelled PATCH's connection, only the one the DELETE went on stays open.
    awaitTrue(
        () -> openConnections(c, origin, loop) <= 1,
        () -> openConnections(c, origin, loop) + " connections open");
  }

  private static int openConnections(RegistryClient c, Origin origin, EventLoop loop) {
    try {
      return loop.submit(() -> c.connections().pool(origin, loop).openConnections())
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
