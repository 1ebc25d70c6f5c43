package dev.oranc.proxy;

import dev.oranc.common.net.Transport;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.cache.PendingPublishes;
import dev.oranc.proxy.cache.Prefetcher;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.s3.MultipartUploads;
import dev.oranc.proxy.upstream.UpstreamChecker;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code oranc server}: an HTTP Nix binary cache in front of OCI registries (SPEC §3).
 *
 * <pre>{@code
 * try (OrancServer server = OrancServer.start(ServerConfig.builder().listen(address).build())) {
 *   server.awaitClose();
 * }
 * }</pre>
 *
 * <p>One event-loop group serves the listening socket, the client connections and the registry
 * connections (the registry client runs on the same loops, so relaying never crosses threads).
 * {@link #close()} is graceful: stop accepting, close idle connections, let exchanges in flight
 * finish (their responses say {@code Connection: close}) up to {@link
 * ServerConfig#shutdownGrace()}, then close what is left.
 */
public final class OrancServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OrancServer.class);

  private final ServerConfig config;
  private final EventLoopGroup group;
  private final RegistryClient registryClient;
  private final UpstreamChecker upstream;
  private final LayerCache layers;
  private final BlobCache blobs;
  private final ServerMetrics metrics;
  private final MultipartUploads multipart;
  private final Prefetcher prefetch;
  private final ChannelGroup channels =
      new DefaultChannelGroup("oranc-clients", GlobalEventExecutor.INSTANCE);
  private final Channel serverChannel;
  private final CountDownLatch closed = new CountDownLatch(1);
  private volatile boolean draining;

  /** NAR publishes answered already but still running; {@link #close()} waits for them. */
  private final PendingPublishes pending;

  private boolean closing;

  private OrancServer(ServerConfig config) {
    this.config = config;
    this.metrics = new ServerMetrics();
    this.group = Transport.newGroup(config.threads(), "oranc-server");
    boolean started = false;
    RegistryClient client = null;
    UpstreamChecker checker = null;
    this.multipart =
        new MultipartUploads(
            config.multipartSpoolDir(),
            config.multipartSpoolBytes(),
            config.multipartExpiry(),
            config.maxMultipartUploadsPerClient(),
            config.ticker());
    try {
      try {
        multipart.checkSpool();
      } catch (IOException | RuntimeException e) {
        throw new ServerStartException(
            "cannot use the multipart spool directory "
                + config.multipartSpoolDir()
                + " (--multipart-spool-dir): "
                + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()),
            e);
      }
      // The server's address policy, whatever config.registry() says (its default lets push
      // connect anywhere); refusals are counted.
      // No HEAD before a blob held in memory (a narinfo, a config, a small NAR): the server uploads
      // what a client sends, which is new as a rule (Nix HEADs the key first), and a redundant
      // upload costs less than a round trip on every one.
      client =
          new RegistryClient(
              config.registry().toBuilder()
                  .checkBeforeUpload(false)
                  // Upload sessions opened ahead per repository and credentials (4 by default): a
                  // small
                  // body (a narinfo, a config, a small NAR) then waits on its final PUT alone.
                  .uploadSessionReserve(config.uploadSessionsAhead())
                  .addressPolicy(
                      config.addressPolicy().onRefusal(r -> metrics.registryAddressRefused()))
                  .build(),
              group);
      this.registryClient = client;
      this.layers =
          new LayerCache(
              config.layerCacheEntries(),
              config.layerCacheTtl(),
              config.layerCacheNegativeTtl(),
              config.ticker());
      this.blobs =
          new BlobCache(
              config.blobCacheBytes(),
              config.smallBlobBytes(),
              config.blobCacheIdle(),
              config.ticker());
      checker =
          new UpstreamChecker(
              config.upstreams(),
              config.ignoreUpstream(),
              config.upstreamAnonymous(),
              config.registry().maxAttempts(),
              config.upstreamTimeout(),
              config.upstreamCacheEntries(),
              config.upstreamCacheTtl(),
              config.upstreamCacheNegativeTtl(),
              config.ticker(),
              metrics);
      this.upstream = checker;
      metrics.registryThrottling(client::throttling);
      metrics.cache("layer", layers::stats, layers::size, () -> -1);
      metrics.cache("blob", blobs::stats, blobs::size, blobs::weight);
      metrics.cache("upstream", checker::stats, checker::size, () -> -1);
      metrics.multipart(
          multipart::uploads,
          multipart::spoolBytes,
          multipart::directParts,
          multipart::spooledParts);
      OciBinaryCache cache = new OciBinaryCache(client, config.codec());
      this.prefetch =
          config.prefetchConcurrency() == 0
              ? Prefetcher.disabled()
              : new Prefetcher(
                  cache,
                  layers,
                  blobs,
                  metrics,
                  config.prefetchConcurrency(),
                  config.prefetchQueue());
      this.pending =
          new PendingPublishes(
              config.maxPendingPublishes(), PendingPublishes.DEFAULT_REMEMBER, config.ticker());
      Backend backend = new Backend(cache, layers, blobs, checker, metrics, prefetch, pending);
      long sweep = multipart.sweepInterval().toMillis();
      group.scheduleAtFixedRate(multipart::expire, sweep, sweep, TimeUnit.MILLISECONDS);
      ServerBootstrap bootstrap =
          new ServerBootstrap()
              .group(group)
              .channel(Transport.serverSocketChannel())
              .option(ChannelOption.SO_BACKLOG, 1024)
              .option(ChannelOption.SO_REUSEADDR, true)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childOption(ChannelOption.SO_KEEPALIVE, true)
              // A PUT body is read up to 1 MiB at a time (Netty's default stops at 64 KiB), as
              // registry streams are: fewer system calls and pieces per NAR uploaded.
              .childOption(
                  ChannelOption.RCVBUF_ALLOCATOR,
                  new AdaptiveRecvByteBufAllocator(512, 2048, ServerInitializer.MAX_CHUNK_SIZE))
              .childOption(
                  ChannelOption.WRITE_BUFFER_WATER_MARK,
                  new WriteBufferWaterMark(
                      config.writeBufferLowWaterMark(), config.writeBufferHighWaterMark()))
              .childHandler(
                  new ServerInitializer(config, backend, multipart, () -> draining, channels));
      InetSocketAddress listen = resolved(config.listen());
      ChannelFuture bind = bootstrap.bind(listen).awaitUninterruptibly();
      if (!bind.isSuccess()) {
        throw bindFailure(listen, bind.cause());
      }
      this.serverChannel = bind.channel();
      started = true;
    } finally {
      if (!started) {
        if (checker != null) {
          checker.close();
        }
        if (client != null) {
          client.close();
        }
        multipart.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      }
    }
  }

  /**
   * Binds and starts serving.
   *
   * @throws ServerStartException when the address cannot be bound (taken, not local, not allowed)
   */
  public static OrancServer start(ServerConfig config) {
    OrancServer server = new OrancServer(config);
    log.info("{}", server.startupLine());
    if (!config.registry().tls()) {
      log.warn(
          "--no-ssl: every registry is reached over plain HTTP, so the credentials and tokens of"
              + " every request travel in clear text to whichever registry it names (ghcr.io too);"
              + " for a local registry, use --insecure-registry HOST:PORT instead");
    }
    return server;
  }

  /**
   * What an operator checks first: version, address, how registries are reached, upstreams and
   * cache bounds, in one line. Upstream URLs are shown without any user info they carry.
   */
  String startupLine() {
    String version =
        Objects.requireNonNullElse(
            OrancServer.class.getPackage().getImplementationVersion(), "dev");
    StringBuilder fallbacks = new StringBuilder();
    for (var e : config.codec().fallbacks()) {
      fallbacks.append(fallbacks.length() == 0 ? ", then " : ", ").append(e.cliName());
    }
    StringBuilder upstreams = new StringBuilder();
    for (URI u : config.upstreams()) {
      upstreams
          .append(upstreams.length() == 0 ? "" : " ")
          .append(u.getScheme())
          .append("://")
          .append(u.getHost())
          .append(u.getPort() < 0 ? "" : ":" + u.getPort())
          .append(u.getRawPath() == null ? "" : u.getRawPath());
    }
    int loops = 0;
    for (var ignored : group) {
      loops++;
    }
    return "oranc "
        + version
        + " server listening on "
        + format(address())
        + " ("
        + Transport.name()
        + ", "
        + loops
        + " event loops)"
        + "; registries over "
        + (config.registry().tls() ? "HTTPS" : "plain HTTP (--no-ssl)")
        + (config.registry().tls() && !config.registry().insecureRegistries().isEmpty()
            ? " (plain HTTP to " + config.registry().insecureRegistries() + ")"
            : "")
        + ", "
        + config.registry().maxAttempts()
        + " attempt(s) per request"
        + "; serving "
        + (config.allowRegistries().isEmpty()
            ? "any registry on a public address"
            : "only " + config.allowRegistries())
        + "; "
        + config.repositoryParts()
        + " repository parts, tag encoding "
        + config.codec().main().cliName()
        + fallbacks
        + "; upstreams: "
        + (upstreams.length() == 0
            ? "none"
            : upstreams
                + (config.upstreamAnonymous()
                    ? " (anonymous requests too)"
                    : " (requests with credentials)"))
        + "; caches: layers "
        + config.layerCacheEntries()
        + " entries for "
        + config.layerCacheTtl().toSeconds()
        + "s (misses "
        + config.layerCacheNegativeTtl().toSeconds()
        + "s)"
        + ", small blobs "
        + (config.blobCacheBytes() >> 20)
        + " MiB (each up to "
        + (config.smallBlobBytes() >> 10)
        + " KiB)"
        + "; prefetch "
        + (config.prefetchConcurrency() == 0
            ? "off"
            : config.prefetchConcurrency() + " at once, " + config.prefetchQueue() + " queued")
        + "; S3 multipart spool "
        + (config.multipartSpoolBytes() >> 20)
        + " MiB in "
        + config.multipartSpoolDir()
        + ", uploads expire after "
        + config.multipartExpiry().toMinutes()
        + " min, at most "
        + config.maxMultipartUploadsPerClient()
        + " per client"
        + "; limits: "
        + config.maxConnections()
        + " connections, "
        + (config.maxStreamsPerClient() == 0 ? "no limit of" : config.maxStreamsPerClient())
        + " streams per client address, idle timeout "
        + config.idleTimeout().toSeconds()
        + "s";
  }

  /** The bound address (with the real port when the config said 0). */
  public InetSocketAddress address() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  public ServerMetrics metrics() {
    return metrics;
  }

  public ServerConfig config() {
    return config;
  }

  /** The S3 multipart uploads in progress (tests look at the spool). */
  public MultipartUploads multipart() {
    return multipart;
  }

  /** The background prefetcher (disabled with {@code --no-prefetch}). */
  public Prefetcher prefetcher() {
    return prefetch;
  }

  /** Drops every cached answer (tests; an operator could wire it to a signal). */
  public void clearCaches() {
    layers.clear();
    blobs.clear();
  }

  /** Blocks until {@link #close()} has finished. */
  public void awaitClose() throws InterruptedException {
    closed.await();
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
    }
    try {
      draining = true;
      serverChannel.close().syncUninterruptibly();
      int inFlight = 0;
      for (Channel ch : channels) {
        if (ServerInitializer.isIdle(ch)) {
          ch.close();
        } else {
          inFlight++;
        }
      }
      log.info("oranc server stopping: no new connections; {} request(s) in flight", inFlight);
      long deadline = System.nanoTime() + config.shutdownGrace().toNanos();
      while (!channels.isEmpty() && System.nanoTime() < deadline) {
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      if (!channels.isEmpty()) {
        log.warn(
            "oranc server: closing {} connection(s) still busy after {} s",
            channels.size(),
            config.shutdownGrace().toSeconds());
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      }
      awaitPublishes(deadline);
      upstream.close();
      multipart.close();
      registryClient.close();
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
      log.info("oranc server stopped");
    } finally {
      closed.countDown();
    }
  }

  /**
   * Lets the NAR publishes answered already (their PUT got its 200 once the blob was stored) put up
   * their manifests, until the shutdown grace is spent: without it a NAR Nix was told is stored
   * would have no tag, and its narinfo would be refused ({@code NarInfoGate}).
   */
  private void awaitPublishes(long deadline) {
    int publishing = pending.size();
    if (publishing == 0) {
      return;
    }
    log.info(
        "oranc server stopping: {} NAR publish(es) answered already still running; waiting for"
            + " them",
        publishing);
    try {
      pending.whenIdle().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      log.warn(
          "oranc server: {} NAR publish(es) unfinished after the shutdown grace ({} s): those NARs"
              + " were answered 200 but have no tag, and a narinfo naming one is refused until it"
              + " is uploaded again",
          pending.size(),
          config.shutdownGrace().toSeconds());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      // whenIdle() never fails.
    }
  }

  private static InetSocketAddress resolved(InetSocketAddress a) {
    return a.isUnresolved() ? new InetSocketAddress(a.getHostString(), a.getPort()) : a;
  }

  private static ServerStartException bindFailure(InetSocketAddress listen, Throwable cause) {
    String where = format(listen);
    // Epoll reports "bind(..) failed with error(-98): Address already in use", NIO a
    // BindException: read the words, not the class.
    String m =
        cause == null || cause.getMessage() == null
            ? ""
            : cause.getMessage().toLowerCase(Locale.ROOT);
    String why;
    if (m.contains("in use")) {
      why = "the address is already in use (another oranc, or another server, listens there)";
    } else if (m.contains("permission") || m.contains("access")) {
      why = "permission denied (ports below 1024 need privileges)";
    } else if (m.contains("assign")) {
      why = "the address is not one of this machine's";
    } else {
      why = m.isEmpty() ? "unknown reason" : cause.getMessage();
    }
    return new ServerStartException("cannot listen on " + where + ": " + why, cause);
  }

  static String format(InetSocketAddress a) {
    String host = a.getHostString();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }
}
