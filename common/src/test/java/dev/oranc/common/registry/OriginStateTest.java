package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static dev.oranc.common.registry.RegistryClientFaultTest.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.AuthChallenge;
import dev.oranc.common.registry.auth.Authenticator;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.ConnectionPool;
import dev.oranc.common.registry.transport.Connections;
import dev.oranc.common.registry.transport.HttpConnection;
import dev.oranc.common.registry.transport.Origin;
import dev.oranc.testkit.FakeRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the client keeps per origin, and that it does not keep it for long or without bound:
 * connection pools leave when they have nothing open, at most so many stay (an evicted one closes
 * its connections), an acquire racing a pool's retirement is served all the same, and auth
 * challenges are capped in size, bounded in total and forgotten when unused.
 */
class OriginStateTest {

  private static final Digest DIGEST = new Digest("c".repeat(64));
  private static final Credentials USER = Credentials.basic("user", "pw");

  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closing(T c) {
    closing.add(c);
    return c;
  }

  private static RegistryClientConfig config(Duration idleTimeout) {
    return RegistryClientConfig.builder()
        .tls(false)
        .maxAttempts(2)
        .idleTimeout(idleTimeout)
        .readTimeout(Duration.ofSeconds(5))
        .backoff(Duration.ofMillis(5), Duration.ofMillis(10))
        .build();
  }

  /** Waits up to 10 s for {@code condition}, checking it every 10 ms. */
  static void awaitTrue(BooleanSupplier condition, Callable<String> describe) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + describe.call());
      }
      Thread.sleep(10);
    }
  }

  private static <T> T onLoop(EventLoop loop, Callable<T> task) throws Exception {
    return loop.submit(task).get(10, TimeUnit.SECONDS);
  }

  // --- connection pools -----------------------------------------------------------------------

  @Test
  void aHostThatCannotBeReachedLeavesNoPoolBehind() throws Exception {
    RegistryClient client = closing(new RegistryClient(config(Duration.ofSeconds(55))));
    for (int i = 1; i <= 40; i++) {
      // A loopback address nothing listens on: the connection is refused at once.
      RepositoryRef repo = RepositoryRef.of("127.3.0." + i + ":1", "flood/x");
      Throwable t = failure(client.headBlob(repo, DIGEST, USER, null));
      assertInstanceOf(RegistryException.Unavailable.class, t, t.toString());
    }
    // Removed on the loop before the failure is reported: nothing to wait for.
    assertEquals(0, client.connections().poolCount());
  }

  @Test
  void requestsWaitingOnAConnectThatFailedAreServedAndThePoolThenLeaves() throws Exception {
    // One connection per loop, one loop: the second request waits for the first one's connect.
    RegistryClientConfig config =
        RegistryClientConfig.builder()
            .tls(false)
            .maxAttempts(1)
            .maxConnectionsPerLoop(1)
            .readTimeout(Duration.ofSeconds(120))
            .build();
    EventLoopGroup group = Transport.newGroup(1, "origin-state");
    closing.add(() -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
    RegistryClient client = closing(new RegistryClient(config, group));
    RepositoryRef repo = RepositoryRef.of("127.3.1.1:1", "flood/x");
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      all.add(client.headBlob(repo, DIGEST, USER, null));
    }
    for (CompletableFuture<?> f : all) {
      // Each tried its own connect (not left waiting for the 120 s acquire timeout).
      Throwable t = failure(f);
      assertTrue(t.getMessage().contains("cannot connect"), t.getMessage());
    }
    assertEquals(0, client.connections().poolCount());
  }

  @Test
  void aPoolLeavesWhenItsLastConnectionCloses() throws Exception {
    FakeRegistry keepAlive = closing(new FakeRegistry((n, req, reply) -> reply.send(404, "{}")));
    FakeRegistry closes =
        closing(new FakeRegistry((n, req, reply) -> reply.send(404, "{}", "Connection", "close")));
    RegistryClient client = closing(new RegistryClient(config(Duration.ofMillis(300))));
    Connections connections = client.connections();

    await(client.headBlob(RepositoryRef.of(closes.address(), "a/b"), DIGEST, USER, null));
    awaitTrue(() -> connections.poolCount() == 0, () -> "pools: " + connections.poolCount());

    await(client.headBlob(RepositoryRef.of(keepAlive.address(), "a/b"), DIGEST, USER, null));
    assertEquals(1, client.openConnections(keepAlive.address()));
    // Kept while its connection is idle, gone once the idle timeout closed it.
    awaitTrue(() -> connections.poolCount() == 0, () -> "pools: " + connections.poolCount());
    assertEquals(0, client.openConnections(keepAlive.address()));
    // And a pool made afresh serves the next request.
    assertTrue(
        await(client.headBlob(RepositoryRef.of(keepAlive.address(), "a/b"), DIGEST, USER, null))
            .isEmpty());
    assertEquals(2, keepAlive.requests().size());
  }

  /** A client's plumbing with a pool bound of {@code maxPools}, on one loop of its own. */
  private record Plumbing(Connections connections, CallRunner runner, EventLoop loop) {
    Call get(String address) {
      return new Call(
          "GET " + address,
          HttpMethod.GET,
          Origin.ofRegistry(address, false),
          "/v2/",
          new DefaultHttpHeaders(),
          null,
          null,
          null,
          false,
          1024,
          false,
          loop);
    }
  }

  private Plumbing plumbing(int maxPools) {
    RegistryClientConfig config = config(Duration.ofSeconds(55));
    EventLoopGroup group = Transport.newGroup(1, "origin-state");
    closing.add(() -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
    Connections connections = new Connections(config, maxPools);
    CallRunner runner = new CallRunner(connections, config);
    runner.authenticator(new Authenticator(runner, Ticker.systemTicker()));
    return new Plumbing(connections, runner, group.next());
  }

  @Test
  void poolsAreBoundedAndAnEvictedOneClosesItsIdleConnections() throws Exception {
    Plumbing p = plumbing(2);
    List<ConnectionPool> pools = new ArrayList<>();
    List<Origin> origins = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      FakeRegistry f = closing(new FakeRegistry((n, req, reply) -> reply.send(200, "{}")));
      origins.add(Origin.ofRegistry(f.address(), false));
    }
    // Two origins, each with a connection left idle in its pool.
    for (int i = 0; i < 2; i++) {
      ConnectionPool pool = p.connections().pool(origins.get(i), p.loop());
      HttpConnection c = pool.acquire().get(10, TimeUnit.SECONDS);
      onLoop(
          p.loop(),
          () -> {
            c.pool().release(c);
            return null;
          });
      pools.add(pool);
    }
    // A third origin, used more than they are, takes the place of one of them.
    for (int k = 0; k < 10; k++) {
      p.connections().pool(origins.get(2), p.loop());
    }
    assertTrue(p.connections().poolCount() <= 2);
    awaitTrue(
        () -> {
          try {
            return onLoop(
                p.loop(),
                () -> {
                  int evicted = 0;
                  for (ConnectionPool pool : pools) {
                    if (pool.retired()) {
                      evicted++;
                      if (pool.openConnections() != 0) {
                        return false; // its idle connection is still closing
                      }
                    } else if (pool.openConnections() != 1) {
                      throw new AssertionError("a pool kept lost its idle connection");
                    }
                  }
                  return evicted == 1;
                });
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        },
        () ->
            "pools: " + pools.stream().map(x -> x.retired() + "/" + x.openConnections()).toList());
  }

  @Test
  void anAcquireOnARetiredPoolIsServedByTheOriginsCurrentPool() throws Exception {
    Plumbing p = plumbing(16);
    FakeRegistry f = closing(new FakeRegistry((n, req, reply) -> reply.send(200, "{}")));
    Origin origin = Origin.ofRegistry(f.address(), false);
    // A caller took the pool from the map; before its acquire runs, the pool is evicted: out of
    // the map first, then retired on its loop (what the eviction listener does).
    ConnectionPool taken = p.connections().pool(origin, p.loop());
    p.connections().remove(taken);
    onLoop(
        p.loop(),
        () -> {
          taken.retire();
          return null;
        });
    HttpConnection c = taken.acquire().get(10, TimeUnit.SECONDS);
    onLoop(
        p.loop(),
        () -> {
          ConnectionPool current = p.connections().pool(origin, p.loop());
          assertNotSame(taken, current);
          assertSame(current, c.pool());
          assertEquals(0, taken.openConnections());
          assertEquals(1, current.openConnections());
          current.release(c);
          return null;
        });
    // Released into the current pool, the connection serves the next request.
    assertEquals(200, await(p.runner().run(p.get(f.address()))).status());
    assertEquals(
        1, (int) onLoop(p.loop(), () -> p.connections().pool(origin, p.loop()).openConnections()));
  }

  @Test
  void aBusyConnectionOfAnEvictedPoolClosesWhenReleased() throws Exception {
    Plumbing p = plumbing(16);
    FakeRegistry f = closing(new FakeRegistry((n, req, reply) -> reply.send(200, "{}")));
    Origin origin = Origin.ofRegistry(f.address(), false);
    ConnectionPool pool = p.connections().pool(origin, p.loop());
    HttpConnection c = pool.acquire().get(10, TimeUnit.SECONDS);
    p.connections().remove(pool);
    onLoop(
        p.loop(),
        () -> {
          pool.retire();
          assertEquals(1, pool.openConnections());
          pool.release(c);
          return null;
        });
    awaitTrue(() -> !c.channel().isOpen(), () -> "the connection is still open");
    assertEquals(0, (int) onLoop(p.loop(), pool::openConnections));
    assertEquals(0, p.connections().poolCount());
  }

  // --- auth challenges ------------------------------------------------------------------------

  @Test
  void aChallengeOverTheCapIsAProtocolErrorAndIsNeverStored() throws Exception {
    String realm = "http://127.0.0.1:1/token?pad=" + "x".repeat(60_000);
    FakeRegistry f =
        closing(
            new FakeRegistry(
                (n, req, reply) ->
                    reply.send(
                        401,
                        "{}",
                        "WWW-Authenticate",
                        "Bearer realm=\"" + realm + "\",service=\"s\"")));
    RegistryClient client = closing(new RegistryClient(config(Duration.ofSeconds(55))));
    Throwable t =
        failure(client.getManifest(RepositoryRef.of(f.address(), "a/b"), "t", USER, null));
    RegistryException.Protocol e =
        assertInstanceOf(RegistryException.Protocol.class, t, t.toString());
    assertTrue(
        e.getMessage().contains("longer than " + AuthChallenge.MAX_CHARS + " characters"),
        e.getMessage());
    assertTrue(e.getMessage().contains("GET manifest " + f.address() + "/a/b:t"), e.getMessage());
    assertFalse(e.getMessage().contains("xxxx"), "the challenge is not quoted");
    assertEquals(1, f.requests().size(), "not retried, no token fetched");
    assertEquals(0, client.authenticator().challengesRemembered());
    assertEquals(0, client.tokenFetches());
    // The connection that read it is closed, and its pool gone with it.
    awaitTrue(
        () -> client.connections().poolCount() == 0,
        () -> "pools: " + client.connections().poolCount());
  }

  @Test
  void aChallengeUnderTheCapIsFollowed() throws Exception {
    String realm = "r".repeat(3000);
    FakeRegistry f =
        closing(
            new FakeRegistry(
                (n, req, reply) -> {
                  if (req.headers().contains("Authorization")) {
                    reply.send(404, "{}");
                  } else {
                    reply.send(401, "{}", "WWW-Authenticate", "Basic realm=\"" + realm + "\"");
                  }
                }));
    RegistryClient client = closing(new RegistryClient(config(Duration.ofSeconds(55))));
    assertTrue(
        await(client.getManifest(RepositoryRef.of(f.address(), "a/b"), "t", USER, null)).isEmpty());
    assertEquals(2, f.requests().size());
    assertEquals(1, client.authenticator().challengesRemembered());
  }

  @Test
  void aRegistryThatNeverChallengesNeverSeesTheCredentials() throws Exception {
    String uploads = "/v2/a/b/blobs/uploads/";
    FakeRegistry f =
        closing(
            new FakeRegistry(
                (n, req, reply) -> {
                  switch (req.method()) {
                    case "HEAD", "GET" -> reply.send(404, "{}");
                    case "POST" -> reply.send(202, "{}", "Location", uploads + "session-" + n);
                    case "PATCH" ->
                        reply.send(
                            202,
                            "{}",
                            "Location",
                            req.uri(),
                            "Range",
                            "0-" + (req.body().length - 1));
                    case "PUT" -> reply.send(201, "{}");
                    default -> reply.send(405, "{}");
                  }
                }));
    RegistryClient client = closing(new RegistryClient(config(Duration.ofSeconds(55))));
    RepositoryRef repo = RepositoryRef.of(f.address(), "a/b");
    assertTrue(await(client.getManifest(repo, "t", USER, null)).isEmpty());
    assertTrue(await(client.headBlob(repo, DIGEST, USER, null)).isEmpty());
    byte[] small = "narinfo".getBytes(StandardCharsets.UTF_8);
    await(client.putBlob(repo, small, null, ImageLayout.LAYER_MEDIA_TYPE, USER, null));
    byte[] large = RegistryClientTest.randomBytes(400 * 1024, 3);
    BlobUpload upload = client.upload(repo, large.length, ImageLayout.LAYER_MEDIA_TYPE, USER, null);
    upload.write(Unpooled.wrappedBuffer(large));
    await(upload.finish());
    await(client.listTags(repo, 100, 1, USER, null));

    List<String> methods =
        f.requests().stream().map(FakeRegistry.Request::method).distinct().sorted().toList();
    assertEquals(List.of("GET", "HEAD", "PATCH", "POST", "PUT"), methods);
    for (FakeRegistry.Request r : f.requests()) {
      assertFalse(
          r.headers().contains("Authorization"),
          r.method() + " " + r.uri() + " carried credentials");
    }
  }
}
