package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Issue 14, point 4: requests naming 10,000 distinct registries leave the live heap as it was.
 * Hundreds of them are loopback listeners answering every request with 401 and a 60 KB Bearer realm
 * (refused, never remembered, the connection closed); the rest are loopback addresses where nothing
 * listens (the connect fails). Before, each challenge and each host's pool stayed for ever: 129 MiB
 * for 1,024 such origins. Only 127.0.0.0/8 is used: on Linux any address of it can be bound and
 * connected to.
 *
 * <p>Runs in the bounded-memory fork ({@code -Xmx128m}, common/pom.xml); the growth is measured
 * with {@link MemoryMXBean} after full collections, as the least of several samples.
 */
class OriginFloodMemoryTest {

  private static final int ORIGINS = 10_000;
  private static final int LISTENERS = 300;
  private static final int WARM_UP = 1_000;
  private static final int WARM_UP_LISTENERS = 30;
  private static final int BATCH = 400;
  private static final long BOUND = 16L << 20;
  private static final Digest DIGEST = new Digest("d".repeat(64));
  private static final Credentials USER = Credentials.basic("user", "pw");
  private static final String CHALLENGE =
      "Bearer realm=\"http://127.0.0.1:1/token?pad=" + "x".repeat(60_000) + "\",service=\"flood\"";

  @Test
  void tenThousandOriginsLeaveTheLiveHeapAsItWas() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Level level = root.getLevel();
    // 10,000 failures at DEBUG would be the bulk of this test's time and output.
    root.setLevel(Level.WARN);
    EventLoopGroup servers = Transport.newGroup(1, "flood-listener");
    List<Channel> listeners = new ArrayList<>();
    try (RegistryClient client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .maxAttempts(1)
                .connectTimeout(Duration.ofSeconds(5))
                .readTimeout(Duration.ofSeconds(10))
                .build())) {
      for (int i = 0; i < WARM_UP_LISTENERS + LISTENERS; i++) {
        listeners.add(listen(servers, "127.6." + (i / 200) + "." + (i % 200 + 1)));
      }
      // Warm up on origins of their own: classes, JIT, Netty's and Caffeine's buffers.
      flood(client, listeners.subList(0, WARM_UP_LISTENERS), WARM_UP, 8);
      long before = liveHeap(client);

      flood(client, listeners.subList(WARM_UP_LISTENERS, listeners.size()), ORIGINS, 7);
      long after = liveHeap(client);
      System.out.printf(
          "live heap %d KiB -> %d KiB after %d origins%n", before >> 10, after >> 10, ORIGINS);
      assertEquals(0, client.authenticator().challengesRemembered());
      assertTrue(
          after - before < BOUND,
          "live heap grew by "
              + ((after - before) >> 10)
              + " KiB for "
              + ORIGINS
              + " origins (bound "
              + (BOUND >> 10)
              + " KiB): "
              + (before >> 10)
              + " KiB -> "
              + (after >> 10)
              + " KiB");
    } finally {
      for (Channel c : listeners) {
        c.close().syncUninterruptibly();
      }
      servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      root.setLevel(level);
    }
  }

  /**
   * Sends one blob HEAD to each of {@code count} distinct origins: every {@code count /
   * listeners.size()}-th a listener, the others {@code 127.<net>.x.y:1}, where nothing listens.
   */
  private static void flood(RegistryClient client, List<Channel> listeners, int count, int net)
      throws Exception {
    int every = count / listeners.size();
    int listener = 0;
    int refused = 0;
    List<CompletableFuture<?>> batch = new ArrayList<>();
    List<Boolean> challenged = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String address;
      boolean toListener = i % every == 0 && listener < listeners.size();
      if (toListener) {
        InetSocketAddress a = (InetSocketAddress) listeners.get(listener++).localAddress();
        address = a.getAddress().getHostAddress() + ":" + a.getPort();
      } else {
        address = "127." + net + "." + (refused / 250) + "." + (refused % 250 + 1) + ":1";
        refused++;
      }
      batch.add(client.headBlob(RepositoryRef.of(address, "flood/cache"), DIGEST, USER, null));
      challenged.add(toListener);
      if (batch.size() == BATCH || i == count - 1) {
        for (int k = 0; k < batch.size(); k++) {
          Throwable t = failure(batch.get(k));
          if (challenged.get(k)) {
            RegistryException.Protocol p =
                assertInstanceOf(RegistryException.Protocol.class, t, t.toString());
            assertTrue(p.getMessage().contains("WWW-Authenticate"), p.getMessage());
          } else {
            assertInstanceOf(RegistryException.Unavailable.class, t, t.toString());
          }
        }
        batch.clear();
        challenged.clear();
      }
    }
    assertEquals(listeners.size(), listener, "every listener was asked");
  }

  private static Throwable failure(CompletableFuture<?> f) throws Exception {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return Causes.of(e);
    }
    throw new AssertionError("expected a failure");
  }

  /**
   * The least heap in use over five full collections, once every pool has gone (the connections
   * that read a refused challenge close a moment after the failure is reported).
   */
  private static long liveHeap(RegistryClient client) throws Exception {
    OriginStateTest.awaitTrue(
        () -> client.connections().poolCount() == 0,
        () -> "pools: " + client.connections().poolCount());
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long least = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      memory.gc();
      least = Math.min(least, memory.getHeapMemoryUsage().getUsed());
    }
    return least;
  }

  /**
   * A listener answering every request with 401 and the 60 KB challenge, keeping the connection.
   */
  private static Channel listen(EventLoopGroup group, String host) {
    return new ServerBootstrap()
        .group(group)
        .channel(Transport.serverSocketChannel())
        .childHandler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline()
                    .addLast(new HttpServerCodec())
                    .addLast(new HttpObjectAggregator(1 << 16))
                    .addLast(
                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                          @Override
                          protected void channelRead0(
                              ChannelHandlerContext ctx, FullHttpRequest msg) {
                            DefaultFullHttpResponse r =
                                new DefaultFullHttpResponse(
                                    HttpVersion.HTTP_1_1,
                                    HttpResponseStatus.UNAUTHORIZED,
                                    Unpooled.EMPTY_BUFFER);
                            r.headers()
                                .set(HttpHeaderNames.WWW_AUTHENTICATE, CHALLENGE)
                                .setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
                            ctx.writeAndFlush(r);
                          }
                        });
              }
            })
        .bind(host, 0)
        .syncUninterruptibly()
        .channel();
  }
}
