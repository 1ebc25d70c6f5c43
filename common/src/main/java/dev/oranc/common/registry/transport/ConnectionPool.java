package dev.oranc.common.registry.transport;

import dev.oranc.common.net.AddressPolicy;
import dev.oranc.common.registry.config.RegistryClientConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keep-alive connections to one origin from one event loop.
 *
 * <p>Design note. Pools are per (origin, event loop) rather than per origin: the server asks for a
 * registry connection on the event loop of the client connection it serves, so relaying a buffer
 * from one to the other never crosses threads, and this pool needs no locks — every method runs on
 * its loop. At most {@code max} connections are open; further requests wait in a bounded queue
 * (first come, first served) until one is released or their wait times out. Idle connections are
 * reused most-recently-used first (the least likely to have been closed by the registry) and closed
 * after the idle timeout.
 *
 * <p>A pool lives only while it has something: a pool with no connection open or being opened and
 * no waiter takes itself out of {@link Connections}, so a host that was tried once (a connect that
 * failed, an answer on a connection since closed) leaves nothing behind. A pool evicted from {@link
 * Connections} (too many origins) closes its idle connections and closes each busy one when its
 * exchange ends. Either way it is then {@code retired}: set on its loop, like every other field, so
 * an {@link #acquire} that took this pool from the map just before it left runs on the loop after
 * the retirement and hands itself to the origin's current pool instead — no connection is ever
 * opened by, or kept in, a pool that is no longer in the map.
 *
 * <p>The address policy ({@link AddressPolicy}) is enforced here, where every connection of the
 * client is made (registries, token services, redirect targets, upload locations): unless the
 * origin is exempt, the name is resolved first, every address checked, and the connection made to
 * the first permitted address itself (not to the name, which could resolve differently a moment
 * later); once connected, the socket's peer address is checked again. A refusal is a {@link
 * ConnectionFailure.Kind#REFUSED}, never retried.
 */
public final class ConnectionPool {

  private static final Logger log =
      LoggerFactory.getLogger("dev.oranc.common.registry.ConnectionPool");

  private final Connections connections;
  private final Origin origin;
  private final EventLoop loop;
  private final Bootstrap bootstrap;
  private final AddressPolicy policy;
  private final boolean checked;
  private final int max;
  private final int maxPending;
  private final long acquireTimeoutNanos;
  private final long idleTimeoutNanos;

  private final ArrayDeque<HttpConnection> idle = new ArrayDeque<>();
  private final ArrayDeque<Promise<HttpConnection>> waiters = new ArrayDeque<>();
  private int open;
  private boolean retired;

  ConnectionPool(
      Connections connections,
      Origin origin,
      EventLoop loop,
      Bootstrap template,
      SslContext sslContext,
      RegistryClientConfig config) {
    this.connections = connections;
    this.origin = origin;
    this.loop = loop;
    this.policy = config.addressPolicy();
    this.checked = !policy.exempts(origin.host(), origin.port());
    this.max = config.maxConnectionsPerLoop();
    this.maxPending = config.maxPendingAcquires();
    this.acquireTimeoutNanos = config.readTimeout().toNanos();
    this.idleTimeoutNanos = config.idleTimeout().toNanos();
    long timeoutNanos = config.readTimeout().toNanos();
    this.bootstrap =
        template
            .clone(loop)
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ChannelPipeline p = ch.pipeline();
                    if (origin.tls()) {
                      p.addLast(
                          "tls", sslContext.newHandler(ch.alloc(), origin.host(), origin.port()));
                    }
                    p.addLast(
                        "http",
                        new HttpClientCodec(
                            new HttpDecoderConfig()
                                .setMaxInitialLineLength(8192)
                                .setMaxHeaderSize(64 * 1024)
                                .setMaxChunkSize(Connections.MAX_READ),
                            false,
                            false));
                    p.addLast(
                        HttpConnection.HANDLER_NAME,
                        new HttpConnection(ConnectionPool.this, timeoutNanos));
                  }
                });
  }

  Origin origin() {
    return origin;
  }

  EventLoop loop() {
    return loop;
  }

  /** A connection for one exchange; completes on this pool's loop. */
  public Future<HttpConnection> acquire() {
    Promise<HttpConnection> promise = loop.newPromise();
    if (loop.inEventLoop()) {
      acquire0(promise);
    } else {
      loop.execute(() -> acquire0(promise));
    }
    return promise;
  }

  private void acquire0(Promise<HttpConnection> promise) {
    if (retired) {
      // Taken from the map before this pool left it; the origin's current pool (same loop) serves.
      connections.pool(origin, loop).acquire0(promise);
      return;
    }
    HttpConnection c;
    while ((c = idle.pollLast()) != null) {
      if (c.isUsable()) {
        if (!promise.trySuccess(c)) {
          release(c);
        }
        return;
      }
    }
    if (open < max) {
      connect(promise);
    } else if (waiters.size() < maxPending) {
      waiters.add(promise);
      ScheduledFuture<?> timeout =
          loop.schedule(
              () -> {
                if (waiters.remove(promise)) {
                  retireIfEmpty();
                  promise.tryFailure(
                      new ConnectionFailure(
                          ConnectionFailure.Kind.OVERLOADED,
                          "no free connection to "
                              + origin
                              + " within "
                              + TimeUnit.NANOSECONDS.toSeconds(acquireTimeoutNanos)
                              + " s ("
                              + max
                              + " per event loop are busy)",
                          false,
                          null));
                }
              },
              acquireTimeoutNanos,
              TimeUnit.NANOSECONDS);
      promise.addListener(f -> timeout.cancel(false));
    } else {
      promise.tryFailure(
          new ConnectionFailure(
              ConnectionFailure.Kind.OVERLOADED,
              "too many requests waiting for a connection to " + origin + " (" + maxPending + ")",
              false,
              null));
    }
  }

  private void connect(Promise<HttpConnection> promise) {
    open++;
    if (!checked) {
      connect(bootstrap.connect(origin.host(), origin.port()), promise);
      return;
    }
    bootstrap
        .config()
        .resolver()
        .getResolver(loop)
        .resolveAll(InetSocketAddress.createUnresolved(origin.host(), origin.port()))
        .addListener(
            f -> {
              if (!f.isSuccess() || ((List<?>) f.getNow()).isEmpty()) {
                notOpened();
                Throwable cause =
                    f.cause() != null ? f.cause() : new UnknownHostException(origin.host());
                promise.tryFailure(
                    new ConnectionFailure(
                        ConnectionFailure.Kind.CONNECT,
                        "cannot connect to " + origin + ": " + describe(cause),
                        false,
                        cause));
                return;
              }
              AddressPolicy.Refusal refusal = null;
              for (Object o : (List<?>) f.getNow()) {
                InetSocketAddress address = (InetSocketAddress) o;
                Optional<AddressPolicy.Refusal> r =
                    policy.check(origin.host(), origin.port(), address.getAddress());
                if (r.isEmpty()) {
                  connect(bootstrap.connect(address), promise);
                  return;
                }
                if (refusal == null) {
                  refusal = r.get();
                }
              }
              notOpened();
              refuse(refusal, promise);
            });
  }

  /** A connection counted in {@code open} was never made: let waiters try, or leave the map. */
  private void notOpened() {
    open--;
    if (waiters.isEmpty()) {
      retireIfEmpty();
    } else {
      // Not inline: a connect that fails at once would recurse through every waiter.
      loop.execute(this::serveWaitersOrRetire);
    }
  }

  private void refuse(AddressPolicy.Refusal r, Promise<HttpConnection> promise) {
    String host = r.host().indexOf(':') >= 0 ? "[" + r.host() + "]" : r.host();
    long unlogged = connections.refusalWarnings().admit();
    if (unlogged >= 0) {
      log.warn(
          "refused a connection to {}:{}: {} is a {} address (only a host that --allow-registry"
              + " names explicitly is reached there, e.g. --allow-registry {}:{}){}",
          host,
          r.port(),
          r.address().getHostAddress(),
          r.addressClass(),
          host,
          r.port(),
          unlogged == 0
              ? ""
              : "; "
                  + unlogged
                  + " more refused since the last such line (at most one every 10 s;"
                  + " oranc_registry_refused_total counts them all)");
    }
    policy.refused(r);
    promise.tryFailure(
        new ConnectionFailure(
            ConnectionFailure.Kind.REFUSED,
            "refused to connect to "
                + host
                + ":"
                + r.port()
                + ": a "
                + r.addressClass()
                + " address (allow the registry with --allow-registry)",
            false,
            null));
  }

  private void connect(ChannelFuture cf, Promise<HttpConnection> promise) {
    cf.addListener(
        f -> {
          if (!f.isSuccess()) {
            // closed() is not called for a channel that never became active.
            notOpened();
            promise.tryFailure(
                new ConnectionFailure(
                    ConnectionFailure.Kind.CONNECT,
                    "cannot connect to " + origin + ": " + describe(f.cause()),
                    false,
                    f.cause()));
            return;
          }
          Channel ch = cf.channel();
          if (checked) {
            // Again on the socket's peer: what was connected is what counts.
            SocketAddress remote = ch.remoteAddress();
            Optional<AddressPolicy.Refusal> r =
                remote instanceof InetSocketAddress a
                    ? policy.check(origin.host(), origin.port(), a.getAddress())
                    : Optional.empty();
            if (r.isPresent()) {
              ch.close(); // closed() counts it out
              refuse(r.get(), promise);
              return;
            }
          }
          HttpConnection c = (HttpConnection) ch.pipeline().get(HttpConnection.HANDLER_NAME);
          SslHandler tls = ch.pipeline().get(SslHandler.class);
          if (tls == null) {
            handOut(c, promise);
            return;
          }
          tls.handshakeFuture()
              .addListener(
                  h -> {
                    if (h.isSuccess()) {
                      handOut(c, promise);
                    } else {
                      ch.close();
                      promise.tryFailure(
                          new ConnectionFailure(
                              ConnectionFailure.Kind.TLS,
                              "TLS with "
                                  + origin
                                  + " failed: "
                                  + describe(h.cause())
                                  + " (a registry without TLS needs --no-ssl, or"
                                  + " --insecure-registry HOST for oranc server)",
                              false,
                              h.cause()));
                    }
                  });
          // A read is needed for the handshake to progress with AUTO_READ off.
          ch.read();
        });
  }

  private void handOut(HttpConnection c, Promise<HttpConnection> promise) {
    if (!promise.trySuccess(c)) {
      release(c);
    }
  }

  /** Takes back a connection whose exchange has ended cleanly. */
  public void release(HttpConnection c) {
    Promise<HttpConnection> waiter;
    while ((waiter = waiters.poll()) != null) {
      if (waiter.trySuccess(c)) {
        return;
      }
    }
    if (retired) {
      c.channel().close();
      return;
    }
    idle.addLast(c);
    c.scheduleIdleClose(idleTimeoutNanos);
  }

  /** A connection of this pool has closed. */
  void closed(HttpConnection c) {
    open--;
    idle.remove(c);
    serveWaitersOrRetire();
  }

  private void serveWaitersOrRetire() {
    Promise<HttpConnection> waiter;
    while (open < max && (waiter = waiters.poll()) != null) {
      if (!waiter.isDone()) {
        connect(waiter);
      }
    }
    retireIfEmpty();
  }

  /** Leaves {@link Connections} when nothing is open, being opened or waited for. */
  private void retireIfEmpty() {
    if (!retired && open == 0 && waiters.isEmpty() && idle.isEmpty()) {
      retired = true;
      connections.remove(this);
    }
  }

  /** Evicted from {@link Connections}: idle connections close now, busy ones when released. */
  public void retire() {
    assert loop.inEventLoop();
    retired = true;
    closeIdle();
  }

  /** For tests: whether this pool has left {@link Connections}. */
  public boolean retired() {
    return retired;
  }

  /** Connections open or being opened; for tests and metrics. */
  public int openConnections() {
    return open;
  }

  void closeIdle() {
    HttpConnection c;
    while ((c = idle.poll()) != null) {
      c.channel().close();
    }
  }

  static String describe(Throwable t) {
    if (t instanceof SSLHandshakeException || t instanceof SSLException) {
      Throwable root = t;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      return root.getMessage() == null ? t.getMessage() : root.getMessage();
    }
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m;
  }
}
