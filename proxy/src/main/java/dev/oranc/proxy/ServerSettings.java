package dev.oranc.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.net.AddressPolicy;
import dev.oranc.common.net.HostPattern;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The settings of a server being put together: every default in one place and one setter each, then
 * {@link #build()}, which checks them all ({@link ServerConfig}'s constructor). What {@link
 * ServerConfig.Builder} is made of; generic in the builder's own type only so that each setter
 * returns it.
 */
abstract class ServerSettings<B extends ServerSettings<B>> {
  private InetSocketAddress listen = new InetSocketAddress("::", ServerConfig.DEFAULT_PORT);
  private int repositoryParts = 2;
  private TagCodec codec = TagCodec.DEFAULT;
  private RegistryClientConfig registry = RegistryClientConfig.defaults();
  private List<URI> upstreams = List.of();
  private Pattern ignoreUpstream = Pattern.compile("nix-cache-info");
  private boolean upstreamAnonymous;
  private int threads;
  private int maxInitialLineLength = 8 * 1024;
  private int maxHeaderSize = 16 * 1024;
  private Duration idleTimeout = Duration.ofSeconds(60);
  private Duration shutdownGrace = Duration.ofSeconds(30);
  private int writeBufferLowWaterMark = 256 * 1024;
  private int writeBufferHighWaterMark = 1024 * 1024;
  private long layerCacheEntries = 100_000;
  private Duration layerCacheTtl = Duration.ofMinutes(5);
  private Duration layerCacheNegativeTtl = Duration.ofSeconds(5);
  private long blobCacheBytes = 64L << 20;
  private int smallBlobBytes = 64 * 1024;
  private Duration blobCacheIdle = Duration.ofHours(1);
  private Duration upstreamTimeout = Duration.ofSeconds(10);
  private long upstreamCacheEntries = 100_000;
  private Duration upstreamCacheTtl = Duration.ofMinutes(10);
  private Duration upstreamCacheNegativeTtl = Duration.ofMinutes(1);
  private Ticker ticker = Ticker.systemTicker();
  private Path multipartSpoolDir = ServerConfig.defaultMultipartSpoolDir();
  private long multipartSpoolBytes = 1L << 30;
  private Duration multipartExpiry = Duration.ofHours(1);
  private int maxConnections = 8192;
  private int maxStreamsPerClient = 64;
  private int maxMultipartUploadsPerClient = 100;
  private int maxPendingPublishes = 1024;
  private int uploadSessionsAhead = 4;
  private Duration maxAgeNarinfo = Duration.ofSeconds(60);
  private Duration maxAgeNotFound = Duration.ZERO;
  private List<HostPattern> allowRegistries = List.of();
  private AddressPolicy addressPolicy;
  private boolean narRedirect;
  private Duration narRedirectTtl = Duration.ofSeconds(60);
  private int prefetchConcurrency = 16;
  private int prefetchQueue = 4096;

  public B listen(InetSocketAddress v) {
    listen = v;
    return self();
  }

  public B repositoryParts(int v) {
    repositoryParts = v;
    return self();
  }

  public B codec(TagCodec v) {
    codec = v;
    return self();
  }

  public B registry(RegistryClientConfig v) {
    registry = v;
    return self();
  }

  public B upstreams(List<URI> v) {
    upstreams = v;
    return self();
  }

  public B ignoreUpstream(Pattern v) {
    ignoreUpstream = v;
    return self();
  }

  public B upstreamAnonymous(boolean v) {
    upstreamAnonymous = v;
    return self();
  }

  public B threads(int v) {
    threads = v;
    return self();
  }

  public B maxInitialLineLength(int v) {
    maxInitialLineLength = v;
    return self();
  }

  public B maxHeaderSize(int v) {
    maxHeaderSize = v;
    return self();
  }

  public B idleTimeout(Duration v) {
    idleTimeout = v;
    return self();
  }

  public B shutdownGrace(Duration v) {
    shutdownGrace = v;
    return self();
  }

  public B writeBufferWaterMarks(int low, int high) {
    writeBufferLowWaterMark = low;
    writeBufferHighWaterMark = high;
    return self();
  }

  public B layerCacheEntries(long v) {
    layerCacheEntries = v;
    return self();
  }

  public B layerCacheTtl(Duration v) {
    layerCacheTtl = v;
    return self();
  }

  public B layerCacheNegativeTtl(Duration v) {
    layerCacheNegativeTtl = v;
    return self();
  }

  public B blobCacheBytes(long v) {
    blobCacheBytes = v;
    return self();
  }

  public B smallBlobBytes(int v) {
    smallBlobBytes = v;
    return self();
  }

  public B blobCacheIdle(Duration v) {
    blobCacheIdle = v;
    return self();
  }

  public B upstreamTimeout(Duration v) {
    upstreamTimeout = v;
    return self();
  }

  public B upstreamCacheEntries(long v) {
    upstreamCacheEntries = v;
    return self();
  }

  public B upstreamCacheTtl(Duration v) {
    upstreamCacheTtl = v;
    return self();
  }

  public B upstreamCacheNegativeTtl(Duration v) {
    upstreamCacheNegativeTtl = v;
    return self();
  }

  public B ticker(Ticker v) {
    ticker = v;
    return self();
  }

  public B multipartSpoolDir(Path v) {
    multipartSpoolDir = v;
    return self();
  }

  public B multipartSpoolBytes(long v) {
    multipartSpoolBytes = v;
    return self();
  }

  public B multipartExpiry(Duration v) {
    multipartExpiry = v;
    return self();
  }

  public B maxConnections(int v) {
    maxConnections = v;
    return self();
  }

  public B maxStreamsPerClient(int v) {
    maxStreamsPerClient = v;
    return self();
  }

  public B maxMultipartUploadsPerClient(int v) {
    maxMultipartUploadsPerClient = v;
    return self();
  }

  public B maxAgeNarinfo(Duration v) {
    maxAgeNarinfo = v;
    return self();
  }

  public B maxAgeNotFound(Duration v) {
    maxAgeNotFound = v;
    return self();
  }

  public B allowRegistries(List<HostPattern> v) {
    allowRegistries = v;
    return self();
  }

  /** Replaces the policy made from {@link #allowRegistries}: for tests and their hooks. */
  public B addressPolicy(AddressPolicy v) {
    addressPolicy = v;
    return self();
  }

  public B narRedirect(boolean v) {
    narRedirect = v;
    return self();
  }

  public B narRedirectTtl(Duration v) {
    narRedirectTtl = v;
    return self();
  }

  /** 0 turns prefetching off. */
  public B prefetchConcurrency(int v) {
    prefetchConcurrency = v;
    return self();
  }

  public B prefetchQueue(int v) {
    prefetchQueue = v;
    return self();
  }

  public B maxPendingPublishes(int v) {
    maxPendingPublishes = v;
    return self();
  }

  public B uploadSessionsAhead(int v) {
    uploadSessionsAhead = v;
    return self();
  }

  public ServerConfig build() {
    return new ServerConfig(
        listen,
        repositoryParts,
        codec,
        registry,
        upstreams,
        ignoreUpstream,
        upstreamAnonymous,
        threads,
        maxInitialLineLength,
        maxHeaderSize,
        idleTimeout,
        shutdownGrace,
        writeBufferLowWaterMark,
        writeBufferHighWaterMark,
        layerCacheEntries,
        layerCacheTtl,
        layerCacheNegativeTtl,
        blobCacheBytes,
        smallBlobBytes,
        blobCacheIdle,
        upstreamTimeout,
        upstreamCacheEntries,
        upstreamCacheTtl,
        upstreamCacheNegativeTtl,
        ticker,
        multipartSpoolDir,
        multipartSpoolBytes,
        multipartExpiry,
        maxConnections,
        maxStreamsPerClient,
        maxMultipartUploadsPerClient,
        maxAgeNarinfo,
        maxAgeNotFound,
        allowRegistries,
        addressPolicy != null ? addressPolicy : AddressPolicy.publicOnly(allowRegistries),
        narRedirect,
        narRedirectTtl,
        prefetchConcurrency,
        prefetchQueue,
        maxPendingPublishes,
        uploadSessionsAhead);
  }

  abstract B self();
}
