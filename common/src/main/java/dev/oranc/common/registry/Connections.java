package dev.oranc.common.registry;

import dev.oranc.common.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.net.ssl.SSLException;

/** The connection pools of one client, one per (origin, event loop). */
final class Connections {

  /** The largest single read from a registry, and so the largest body piece the codec emits. */
  static final int MAX_READ = 1 << 20;

  private record Key(Origin origin, EventLoop loop) {}

  private final RegistryClientConfig config;
  private final Bootstrap template;
  private final SslContext sslContext;
  private final ConcurrentMap<Key, ConnectionPool> pools = new ConcurrentHashMap<>();

  Connections(RegistryClientConfig config) {
    this.config = config;
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
            .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(2048, 16 * 1024, MAX_READ))
            // Uploads write ahead up to 512 KiB before pausing their producer: enough to keep a
            // fast link busy, small enough that hundreds of uploads stay within a bounded heap.
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(128 * 1024, 512 * 1024));
    try {
      // The JDK's trust store; host names are verified (Netty 4.2 sets HTTPS identification).
      this.sslContext = SslContextBuilder.forClient().endpointIdentificationAlgorithm("HTTPS").build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  ConnectionPool pool(Origin origin, EventLoop loop) {
    return pools.computeIfAbsent(
        new Key(origin, loop), k -> new ConnectionPool(origin, loop, template, sslContext, config));
  }

  /** Open connections to an origin over all loops; for tests and metrics. */
  int openConnections(Origin origin) {
    int n = 0;
    for (ConnectionPool p : pools.values()) {
      if (p.origin().equals(origin)) {
        n += p.openConnections();
      }
    }
    return n;
  }

  void closeIdle() {
    for (ConnectionPool p : pools.values()) {
      p.loop().execute(p::closeIdle);
    }
  }
}
