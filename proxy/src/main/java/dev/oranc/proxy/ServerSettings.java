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
 * The settings of a server being put together: every default in one place and one setter each. The
 * server's configuration builder is made of it and adds {@code build()}, which checks them all (the
 * configuration record's constructor), so this class knows nothing of the record it feeds; generic
 * in the builder's own type only so that each setter returns it.
 */
abstract class ServerSettings<B extends ServerSettings<B>> {
  static final int DEFAULT_PORT = 8080;

  /** {@code java.io.tmpdir}/oranc-multipart. */
  static Path defaultMultipartSpoolDir() {
    return Path.of(System.getProperty("java.io.tmpdir"), "oranc-multipart");
  }

  InetSocketAddress listen = new InetSocketAddress("::", DEFAULT_PORT);
  int repositoryParts = 2;
  TagCodec codec = TagCodec.DEFAULT;
  RegistryClientConfig registry = RegistryClientConfig.defaults();
  List<URI> upstreams = List.of();
  Pattern ignoreUpstream = Pattern.compile("nix-cache-info");
  boolean upstreamAnonymous;
  int threads;
  int maxInitialLineLength = 8 * 1024;
  int maxHeaderSize = 16 * 1024;
  Duration idleTimeout = Duration.ofSeconds(60);
  Duration shutdownGrace = Duration.ofSeconds(30);
  int writeBufferLowWaterMark = 256 * 1024;
  int writeBufferHighWaterMark = 1024 * 1024;
  long layerCacheEntries = 100_000;
  Duration layerCacheTtl = Duration.ofMinutes(5);
  Duration layerCacheNegativeTtl = Duration.ofSeconds(5);
  long blobCacheBytes = 64L << 20;
  int smallBlobBytes = 64 * 1024;
  Duration blobCacheIdle = Duration.ofHours(1);
  Duration upstreamTimeout = Duration.ofSeconds(10);
  long upstreamCacheEntries = 100_000;
  Duration upstreamCacheTtl = Duration.ofMinutes(10);
  Duration upstreamCacheNegativeTtl = Duration.ofMinutes(1);
  Ticker ticker = Ticker.systemTicker();
  Path multipartSpoolDir = defaultMultipartSpoolDir();
  long multipartSpoolBytes = 1L << 30;
  Duration multipartExpiry = Duration.ofHours(1);
  int maxConnections = 8192;
  int maxStreamsPerClient = 64;
  int maxMultipartUploadsPerClient = 100;
  int maxPendingPublishes = 1024;
  int uploadSessionsAhead = 4;
  Duration maxAgeNarinfo = Duration.ofSeconds(60);
  Duration maxAgeNotFound = Duration.ZERO;
  List<HostPattern> allowRegistries = List.of();
  AddressPolicy addressPolicy;
  boolean narRedirect;
  Duration narRedirectTtl = Duration.ofSeconds(60);
  int prefetchConcurrency = 16;
  int prefetchQueue = 4096;

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

  abstract B self();
}
