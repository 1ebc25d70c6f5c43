package dev.oranc.common.registry.transport;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.oranc.common.net.RefusalWarnings;
import dev.oranc.common.net.Transport;
import dev.oranc.common.registry.config.RegistryClientConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.util.concurrent.RejectedExecutionException;
import javax.net.ssl.SSLException;

/**
 * The connection pools of one client, one per (origin, event loop).
 *
 * <p>Design note. Origins come from requests (the server serves whatever registry a path names) and
 * from registries (redirects, token realms), so this map must not grow with them: a pool with
 * nothing open leaves it at once ({@link ConnectionPool}), and at most {@link #MAX_POOLS} stay, the
 * least used evicted first — an evicted pool closes its idle connections. Eviction runs in the
 * thread that inserts ({@code executor(Runnable::run)}) and only posts the retirement to the pool's
 * loop, so it never blocks and never touches a pool off its loop.
 */
public final class Connections {

  /**
   * Pools kept at most: per origin, one per event loop that used it. Far more than the registries,
   * blob hosts and token services one server talks to; a flood of distinct hosts costs at most this
   * many pools (each with its idle connections) until they close.
   */
  static final int MAX_POOLS = 1024;

  /** The largest single read from a registry, and so the largest body piece the codec emits. */
  static final int MAX_READ = 1 << 20;

  private record Key(Origin origin, EventLoop loop) {}

  private final RegistryClientConfig config;
  private final Bootstrap template;
  private final SslContext sslContext;
  private final Cache<Key, ConnectionPool> pools;
  private final RefusalWarnings refusalWarnings = new RefusalWarnings();

  public Connections(RegistryClientConfig config) {
    this(config, MAX_POOLS);
  }

  public Connections(RegistryClientConfig config, int maxPools) {
    this.config = config;
    this.pools =
        Caffeine.newBuilder()
            .maximumSize(maxPools)
            .executor(Runnable::run)
            .<Key, ConnectionPool>evictionListener(
                (key, pool, cause) -> {
                  if (pool != null) {
                    try {
                      pool.loop().execute(pool::retire);
                    } catch (RejectedExecutionException shutDown) {
                      // The loop is gone, and its channels with it.
                    }
                  }
                })
            .build();
    this.template =
        new Bootstrap()
            .channel(Transport.socketChannel())
            // Host names are looked up off the event loops (Netty's default blocks the loop).
            .resolver(OffloadedResolverGroup.forPolicy(config.addressPolicy()))
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.SO_KEEPALIVE, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
            // Reads grow up to 1 MiB while a blob streams in (Netty's default stops at 64 KiB): a
            // relayed NAR then costs a sixteenth of the system calls and buffer hand-overs.
            .option(
                ChannelOption.RCVBUF_ALLOCATOR,
                new AdaptiveRecvByteBufAllocator(2048, 16 * 1024, MAX_READ))
            // Uploads write ahead up to 512 KiB before pausing their producer: enough to keep a
            // fast link busy, small enough that hundreds of uploads stay within a bounded heap.
            .option(
                ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(128 * 1024, 512 * 1024));
    try {
      // The JDK's trust store (a test's roots when it gives some); host names are verified (Netty
      // 4.2 sets HTTPS identification).
      this.sslContext =
          SslContextBuilder.forClient()
              .trustManager(config.trustManagerFactory())
              .endpointIdentificationAlgorithm("HTTPS")
              .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  public ConnectionPool pool(Origin origin, EventLoop loop) {
    return pools.get(
        new Key(origin, loop),
        k -> new ConnectionPool(this, origin, loop, template, sslContext, config));
  }

  /** The throttle on warnings about refused connections, shared by this client's pools. */
  RefusalWarnings refusalWarnings() {
    return refusalWarnings;
  }

  /** Called by a pool, on its loop, when it has nothing left; a newer pool for its key stays. */
  public void remove(ConnectionPool pool) {
    pools.asMap().remove(new Key(pool.origin(), pool.loop()), pool);
  }

  /** Pools in the map; for tests. */
  public long poolCount() {
    pools.cleanUp();
    return pools.estimatedSize();
  }

  /** Open connections to an origin over all loops; for tests and metrics. */
  public int openConnections(Origin origin) {
    int n = 0;
    for (ConnectionPool p : pools.asMap().values()) {
      if (p.origin().equals(origin)) {
        n += p.openConnections();
      }
    }
    return n;
  }

  public void closeIdle() {
    for (ConnectionPool p : pools.asMap().values()) {
      p.loop().execute(p::closeIdle);
    }
  }
}
