package dev.oranc.common.registry.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.resolver.AddressResolver;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Host-name look-ups never run on an event loop, and a slow one does not stall the loop. */
class OffloadedResolverGroupTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private MultiThreadIoEventLoopGroup group;
  private ExecutorService lookups;

  @BeforeEach
  void start() {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    lookups = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-dns"));
  }

  @AfterEach
  void stop() throws Exception {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    lookups.shutdownNow();
  }

  @Test
  void aSlowLookupRunsOffTheLoopWhichKeepsServing() throws Exception {
    List<String> threads = new CopyOnWriteArrayList<>();
    CountDownLatch release = new CountDownLatch(1);
    OffloadedResolverGroup resolvers =
        new OffloadedResolverGroup(
            host -> {
              threads.add(Thread.currentThread().getName());
              try {
                release.await(10, TimeUnit.SECONDS); // a DNS server that takes its time
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              return new InetAddress[] {InetAddress.getByAddress(host, new byte[] {10, 1, 2, 3})};
            },
            lookups);
    EventLoop loop = group.next();
    AddressResolver<InetSocketAddress> resolver =
        loop.submit(() -> resolvers.getResolver(loop)).get();
    Future<InetSocketAddress> resolved =
        loop.submit(
                () -> resolver.resolve(InetSocketAddress.createUnresolved("registry.example", 443)))
            .get();

    // The look-up is pending, and the loop still runs other work at once.
    assertEquals("ran", loop.submit(() -> "ran").get(1, TimeUnit.SECONDS));
    assertTrue(!resolved.isDone(), "resolved before the look-up was released");
    release.countDown();
    InetSocketAddress address = resolved.get(5, TimeUnit.SECONDS);
    assertEquals("10.1.2.3", address.getAddress().getHostAddress());
    assertEquals(443, address.getPort());
    assertEquals(List.of("test-dns"), threads);
  }

  @Test
  void ipLiteralsAreNotLookedUpAndUnknownHostsFail() throws Exception {
    List<String> looked = new CopyOnWriteArrayList<>();
    OffloadedResolverGroup resolvers =
        new OffloadedResolverGroup(
            host -> {
              looked.add(host);
              throw new UnknownHostException(host + ": Name or service not known");
            },
            lookups);
    EventLoop loop = group.next();
    AddressResolver<InetSocketAddress> resolver =
        loop.submit(() -> resolvers.getResolver(loop)).get();
    for (String literal : List.of("127.0.0.1", "::1")) {
      InetSocketAddress a =
          loop.submit(() -> resolver.resolve(InetSocketAddress.createUnresolved(literal, 5000)))
              .get()
              .get(5, TimeUnit.SECONDS);
      assertTrue(a.getAddress().isLoopbackAddress(), literal);
    }
    assertEquals(List.of(), looked);
    Future<InetSocketAddress> unknown =
        loop.submit(
                () ->
                    resolver.resolve(
                        InetSocketAddress.createUnresolved("no-such-host.invalid", 443)))
            .get();
    assertInstanceOf(UnknownHostException.class, unknown.await().cause());
    assertEquals(List.of("no-such-host.invalid"), looked);
  }

  /**
   * The client connects through it: a registry reached by name works, an unknown name fails
   * clearly.
   */
  @Test
  void theClientResolvesNamesThroughIt() throws Exception {
    Registry r = registry.get();
    String port = r.address().substring(r.address().lastIndexOf(':') + 1);
    try (RegistryClient client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .backoff(Duration.ofMillis(5), Duration.ofMillis(10))
                .build())) {
      RepositoryRef byName = RepositoryRef.of("localhost:" + port, "resolver/test");
      Optional<Manifest> none =
          await(client.getManifest(byName, "absent", Credentials.anonymous(), null));
      assertTrue(none.isEmpty());
      Throwable t =
          failure(
              client.getManifest(
                  RepositoryRef.of("no-such-host.invalid:5000", "resolver/test"),
                  "absent",
                  Credentials.anonymous(),
                  null));
      assertInstanceOf(RegistryException.Unavailable.class, t);
      assertTrue(t.getMessage().contains("no-such-host.invalid"), t.getMessage());
    }
  }

  private static <T> T await(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  private static Throwable failure(CompletableFuture<?> f) {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
    return Causes.of(e);
  }
}
