package dev.oranc.cli;

import dev.oranc.common.error.ConfigCheck;
import dev.oranc.proxy.ServerConfig;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * {@code oranc server}'s memory of earlier answers: the key-to-layer cache, the small-blob cache,
 * prefetching that warms both ahead of Nix, and how long upstream caches' answers are trusted.
 */
final class CacheOptions {

  @Option(
      names = "--layer-cache-entries",
      paramLabel = "NUM",
      defaultValue = "100000",
      converter = Bounded.Count.class,
      description =
          "Most key-to-layer answers cached (per registry, repository, key and credential; 0"
              + " disables the cache). Default: ${DEFAULT-VALUE}.")
  int layerCacheEntries;

  @Option(
      names = "--layer-cache-ttl",
      paramLabel = "DURATION",
      defaultValue = "5m",
      converter = Converters.ServerDuration.class,
      description =
          "How long a key found in the registry is trusted without asking again (a PUT through"
              + " this server refreshes it at once). Default: ${DEFAULT-VALUE}.")
  Duration layerCacheTtl;

  @Option(
      names = "--layer-cache-negative-ttl",
      paramLabel = "DURATION",
      defaultValue = "5s",
      converter = Converters.ServerDuration.class,
      description =
          "How long a key missing from the registry is trusted to stay missing. Default:"
              + " ${DEFAULT-VALUE}.")
  Duration layerCacheNegativeTtl;

  @Option(
      names = "--blob-cache-size",
      paramLabel = "SIZE",
      defaultValue = "64MiB",
      converter = Converters.Size.class,
      description =
          "Memory for small blobs (narinfos, listings) kept by digest, so warm narinfo GETs make"
              + " no registry request (0 disables). Default: ${DEFAULT-VALUE}.")
  long blobCacheSize;

  @Option(
      names = "--small-blob-size",
      paramLabel = "SIZE",
      defaultValue = "64KiB",
      converter = Converters.Size.class,
      description =
          "Blobs up to this size are cached whole; larger ones (NARs) are streamed. Default:"
              + " ${DEFAULT-VALUE}.")
  long smallBlobSize;

  @Option(
      names = "--no-prefetch",
      description =
          "Do not warm the caches ahead of Nix. By default a narinfo fetched from the registry"
              + " makes the server fetch, in the background and with the same credentials, the"
              + " narinfos of its References (and theirs, down the closure), a HEAD of a narinfo"
              + " fetches its bytes, and a narinfo served resolves its NAR's layer: Nix's next"
              + " requests are then answered from memory. A failed prefetch is forgotten.")
  boolean noPrefetch;

  @Option(
      names = "--prefetch-concurrency",
      paramLabel = "NUM",
      defaultValue = "16",
      converter = PrefetchConcurrency.class,
      description = "Background prefetches running at once (1 to 1024). Default: ${DEFAULT-VALUE}.")
  int prefetchConcurrency;

  @Option(
      names = "--prefetch-queue",
      paramLabel = "NUM",
      defaultValue = "4096",
      converter = PrefetchQueue.class,
      description =
          "Prefetches waiting for a turn (0 to 1048576); one more is dropped, never waited for."
              + " Default: ${DEFAULT-VALUE}.")
  int prefetchQueue;

  /** From 1 to 1024. */
  static final class PrefetchConcurrency extends Bounded {
    PrefetchConcurrency() {
      super(1, 1024);
    }
  }

  /** From 0 to 1048576. */
  static final class PrefetchQueue extends Bounded {
    PrefetchQueue() {
      super(0, 1 << 20);
    }
  }

  @Option(
      names = "--upstream-timeout",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = Converters.ServerDuration.class,
      description = "Connect and answer timeout of one upstream check. Default: ${DEFAULT-VALUE}.")
  Duration upstreamTimeout;

  @Option(
      names = "--upstream-cache-ttl",
      paramLabel = "DURATION",
      defaultValue = "10m",
      converter = Converters.ServerDuration.class,
      description = "How long an upstream's \"I have it\" is trusted. Default: ${DEFAULT-VALUE}.")
  Duration upstreamCacheTtl;

  @Option(
      names = "--upstream-cache-negative-ttl",
      paramLabel = "DURATION",
      defaultValue = "1m",
      converter = Converters.ServerDuration.class,
      description = "How long \"no upstream has it\" is trusted. Default: ${DEFAULT-VALUE}.")
  Duration upstreamCacheNegativeTtl;

  void applyTo(ServerConfig.Builder b) {
    ConfigCheck.require(
        smallBlobSize <= 16L << 20, "--small-blob-size", smallBlobSize + " bytes", "at most 16MiB");
    b.layerCacheEntries(layerCacheEntries)
        .layerCacheTtl(layerCacheTtl)
        .layerCacheNegativeTtl(layerCacheNegativeTtl)
        .blobCacheBytes(blobCacheSize)
        .smallBlobBytes((int) smallBlobSize)
        .prefetchConcurrency(noPrefetch ? 0 : prefetchConcurrency)
        .prefetchQueue(prefetchQueue)
        .upstreamTimeout(upstreamTimeout)
        .upstreamCacheTtl(upstreamCacheTtl)
        .upstreamCacheNegativeTtl(upstreamCacheNegativeTtl);
  }
}
