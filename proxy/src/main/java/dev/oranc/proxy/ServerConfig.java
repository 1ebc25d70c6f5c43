package dev.oranc.proxy;

import static dev.oranc.common.error.ConfigCheck.require;
import static dev.oranc.common.error.ConfigCheck.requireNonNegative;
import static dev.oranc.common.error.ConfigCheck.requirePositive;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.net.AddressPolicy;
import dev.oranc.common.net.HostPattern;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.proxy.s3.MultipartUploads;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Everything {@code oranc server} is configured with. The flags of SPEC §3 map one to one ({@code
 * -l}, {@code -r}, {@code -m} and {@code --no-ssl} via {@link #registry()}, {@code -u}, {@code -i},
 * {@code --upstream-anonymous}, the tag encodings); the rest are limits and cache bounds with
 * defaults chosen for a server in front of hundreds of Nix clients. Every bound is checked here,
 * once, naming the bad value and what was expected.
 *
 * @param threads event loops (0: one per core)
 * @param maxInitialLineLength longest request line accepted; longer is a 414
 * @param maxHeaderSize largest header block accepted; larger is a 431
 * @param idleTimeout a connection on which the client sends or reads nothing for this long, while
 *     the server is waiting on the client (between requests, inside a request, or writing a
 *     response), is closed
 * @param shutdownGrace how long a shutdown waits for requests in flight before closing them
 * @param writeBufferLowWaterMark a client channel becomes writable again below this many queued
 *     bytes
 * @param writeBufferHighWaterMark ... and unwritable above this many: the bound on what one relayed
 *     download holds in memory, besides one read from the registry
 * @param layerCacheEntries most key-to-layer answers kept
 * @param layerCacheTtl how long a found layer is trusted
 * @param layerCacheNegativeTtl how long a "no such key" is trusted
 * @param blobCacheBytes total bytes of small blobs kept
 * @param smallBlobBytes blobs up to this size are fetched whole and cached; larger ones stream
 * @param blobCacheIdle a cached small blob unused for this long is dropped
 * @param upstreamTimeout connect and answer timeout of one upstream check
 * @param upstreamCacheEntries most upstream answers kept
 * @param upstreamCacheTtl how long "the upstream has it" is trusted
 * @param upstreamCacheNegativeTtl how long "no upstream has it" is trusted
 * @param multipartSpoolDir where the parts of S3 multipart uploads that arrive before their turn
 *     wait (each server makes its own directory inside, and removes it at exit)
 * @param multipartSpoolBytes the most bytes those parts may take on disk in all; a part over it is
 *     answered 503 SlowDown
 * @param multipartExpiry an S3 multipart upload left untouched this long is aborted and its spooled
 *     parts deleted
 * @param maxConnections client connections open at once; a connection over it is answered 503 and
 *     closed at once
 * @param maxStreamsPerClient blob bodies (NAR downloads relayed and uploads) in flight at once from
 *     one client address; one more is a 503 with {@code Retry-After} (0: no limit)
 * @param maxMultipartUploadsPerClient S3 multipart uploads in progress at once per client
 *     credentials and per client address (both count); one more is 503 SlowDown
 * @param maxAgeNarinfo {@code Cache-Control: max-age} of an anonymous answer for a key outside
 *     {@code nar/} (narinfos, {@code nix-cache-info}; 0: {@code no-store}); see {@code
 *     http.CacheHeaders}
 * @param maxAgeNotFound {@code max-age} of an anonymous 404 (0: {@code no-store})
 * @param allowRegistries {@code --allow-registry}: when not empty, the only registries served (a
 *     request for another is a 403); empty serves any registry whose addresses are public
 * @param addressPolicy where the server's registry client may connect; it replaces the policy of
 *     {@link #registry()}. The builder makes it {@link AddressPolicy#publicOnly} over {@code
 *     allowRegistries} (explicit hosts may be on any address); tests give one with their hooks
 * @param narRedirect {@code --nar-redirect}: a NAR GET is answered 307 to where the registry
 *     redirects its blob (presigned storage); see {@code http.NarRedirect}
 * @param narRedirectTtl how long such a URL is handed out again when it does not say when it
 *     expires (at most 5 minutes)
 * @param prefetchConcurrency background prefetches (see {@code cache.Prefetcher}) running at once;
 *     0 turns prefetching off ({@code --no-prefetch})
 * @param prefetchQueue prefetches waiting for a turn; one more is dropped
 * @param maxPendingPublishes {@code --max-pending-publishes}: NAR {@code PUT}s answered once their
 *     blob is stored while their image is still being published (0: every PUT is answered after its
 *     publish); see {@code proxy.cache.PendingPublishes}
 * @param uploadSessionsAhead {@code --upload-sessions-ahead}: registry upload sessions kept open
 *     ahead per repository and credentials (4), so that a small blob waits on its final {@code PUT}
 *     alone; 0 opens each when needed. It replaces {@link #registry()}'s {@code
 *     uploadSessionReserve}; see {@code common.registry.UploadSessionReserve}
 */
public record ServerConfig(
    InetSocketAddress listen,
    int repositoryParts,
    TagCodec codec,
    RegistryClientConfig registry,
    List<URI> upstreams,
    Pattern ignoreUpstream,
    boolean upstreamAnonymous,
    int threads,
    int maxInitialLineLength,
    int maxHeaderSize,
    Duration idleTimeout,
    Duration shutdownGrace,
    int writeBufferLowWaterMark,
    int writeBufferHighWaterMark,
    long layerCacheEntries,
    Duration layerCacheTtl,
    Duration layerCacheNegativeTtl,
    long blobCacheBytes,
    int smallBlobBytes,
    Duration blobCacheIdle,
    Duration upstreamTimeout,
    long upstreamCacheEntries,
    Duration upstreamCacheTtl,
    Duration upstreamCacheNegativeTtl,
    Ticker ticker,
    Path multipartSpoolDir,
    long multipartSpoolBytes,
    Duration multipartExpiry,
    int maxConnections,
    int maxStreamsPerClient,
    int maxMultipartUploadsPerClient,
    Duration maxAgeNarinfo,
    Duration maxAgeNotFound,
    List<HostPattern> allowRegistries,
    AddressPolicy addressPolicy,
    boolean narRedirect,
    Duration narRedirectTtl,
    int prefetchConcurrency,
    int prefetchQueue,
    int maxPendingPublishes,
    int uploadSessionsAhead) {

  public static final int DEFAULT_PORT = ServerSettings.DEFAULT_PORT;

  public ServerConfig {
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(codec, "codec");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(ignoreUpstream, "ignoreUpstream");
    Objects.requireNonNull(ticker, "ticker");
    upstreams = List.copyOf(upstreams);
    for (URI u : upstreams) {
      String scheme = u.getScheme();
      if (scheme == null
          || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          || u.getHost() == null) {
        throw new IllegalArgumentException(
            "upstream: " + u + " (expected: an http(s) URL with a host)");
      }
    }
    require(maxPendingPublishes >= 0, "max pending publishes", maxPendingPublishes, "0 or more");
    require(
        uploadSessionsAhead >= 0 && uploadSessionsAhead <= 8,
        "upload sessions ahead (--upload-sessions-ahead)",
        uploadSessionsAhead,
        "between 0 and 8");
    require(repositoryParts >= 1, "repository parts", repositoryParts, "at least 1");
    require(threads >= 0, "threads", threads, "0 (one per core) or more");
    require(
        maxInitialLineLength >= 256,
        "max request line",
        maxInitialLineLength,
        "at least 256 bytes");
    require(maxHeaderSize >= 1024, "max header size", maxHeaderSize, "at least 1024 bytes");
    requirePositive(idleTimeout, "idle timeout");
    requireNonNegative(shutdownGrace, "shutdown grace");
    require(
        writeBufferLowWaterMark >= 1024,
        "write buffer low water mark",
        writeBufferLowWaterMark,
        "at least 1024 bytes");
    require(
        writeBufferHighWaterMark > writeBufferLowWaterMark,
        "write buffer high water mark",
        writeBufferHighWaterMark,
        "more than the low water mark (" + writeBufferLowWaterMark + ")");
    require(layerCacheEntries >= 0, "layer cache entries", layerCacheEntries, "0 or more");
    requirePositive(layerCacheTtl, "layer cache TTL");
    requirePositive(layerCacheNegativeTtl, "layer cache negative TTL");
    require(blobCacheBytes >= 0, "blob cache size", blobCacheBytes, "0 or more bytes");
    require(
        smallBlobBytes >= 0 && smallBlobBytes <= 16 << 20,
        "small blob bound",
        smallBlobBytes,
        "from 0 to 16 MiB");
    requirePositive(blobCacheIdle, "blob cache idle expiry");
    requirePositive(upstreamTimeout, "upstream timeout");
    require(upstreamCacheEntries >= 0, "upstream cache entries", upstreamCacheEntries, "0 or more");
    requirePositive(upstreamCacheTtl, "upstream cache TTL");
    requirePositive(upstreamCacheNegativeTtl, "upstream cache negative TTL");
    Objects.requireNonNull(multipartSpoolDir, "multipartSpoolDir");
    require(
        multipartSpoolBytes >= 0, "multipart spool size", multipartSpoolBytes, "0 or more bytes");
    requirePositive(multipartExpiry, "multipart expiry");
    require(maxConnections >= 1, "max connections", maxConnections, "at least 1");
    require(
        maxStreamsPerClient >= 0,
        "max streams per client",
        maxStreamsPerClient,
        "0 (no limit) or more");
    require(
        maxMultipartUploadsPerClient >= 1
            && maxMultipartUploadsPerClient <= MultipartUploads.MAX_UPLOADS,
        "max multipart uploads per client",
        maxMultipartUploadsPerClient,
        "from 1 to " + MultipartUploads.MAX_UPLOADS);
    requireMaxAge(maxAgeNarinfo, "narinfo max-age");
    requireMaxAge(maxAgeNotFound, "not-found max-age");
    allowRegistries = List.copyOf(allowRegistries);
    Objects.requireNonNull(addressPolicy, "addressPolicy");
    requirePositive(narRedirectTtl, "nar redirect TTL");
    if (narRedirectTtl.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException(
          "nar redirect TTL: "
              + narRedirectTtl
              + " (expected: at most 5 minutes, well under a presigned URL's life; ghcr.io's is"
              + " about 300 s)");
    }
    require(
        prefetchConcurrency >= 0 && prefetchConcurrency <= 1024,
        "prefetch concurrency",
        prefetchConcurrency,
        "from 0 (off) to 1024");
    require(
        prefetchQueue >= 0 && prefetchQueue <= 1 << 20,
        "prefetch queue",
        prefetchQueue,
        "from 0 to 1048576");
  }

  /** True when a request may name {@code registry} ({@code host} or {@code host:port}). */
  public boolean serves(String registry) {
    if (allowRegistries.isEmpty()) {
      return true;
    }
    int defaultPort = registry().tlsFor(registry) ? 443 : 80;
    for (HostPattern p : allowRegistries) {
      if (p.matchesAuthority(registry, defaultPort)) {
        return true;
      }
    }
    return false;
  }

  /** {@code java.io.tmpdir}/oranc-multipart. */
  public static Path defaultMultipartSpoolDir() {
    return ServerSettings.defaultMultipartSpoolDir();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts from the defaults; {@link #build()} validates. Its defaults and setters are {@link
   * ServerSettings}'s.
   */
  public static final class Builder extends ServerSettings<Builder> {
    private Builder() {}

    @Override
    Builder self() {
      return this;
    }

    /** Checks every setting (this record's constructor) and returns the whole. */
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
  }

  /** Whole seconds (what {@code max-age} can say), from 0 to a year. */
  private static void requireMaxAge(Duration d, String what) {
    if (d == null
        || d.isNegative()
        || d.compareTo(Duration.ofDays(365)) > 0
        || d.toMillis() % 1000 != 0) {
      throw new IllegalArgumentException(
          what + ": " + d + " (expected: whole seconds from 0 to 365 days)");
    }
  }
}
