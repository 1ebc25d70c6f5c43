package dev.oranc.proxy.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.oranc.common.registry.Digest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Small blobs (narinfos, listings, cache info) by digest, so that a warm narinfo GET makes no
 * registry request at all.
 *
 * <p>Design note. Content-addressed, so one entry serves every repository and every credential —
 * but the server consults it only after resolving the request's key to this digest with the
 * request's own credentials ({@link LayerCache}): a client that the registry would refuse never
 * gets this far. Entries are bounded in total bytes ({@code maxBytes}, weighed by length) and each
 * is at most {@code maxBlobBytes}; larger blobs are streamed and never held. A blob's bytes were
 * checked against its digest when fetched (the registry client verifies small blobs), so an entry
 * never needs revalidating; entries unused for {@code idle} are dropped to give memory back.
 * Concurrent misses for one digest share one fetch.
 */
public final class BlobCache {

  /** Bytes, and whether they came without a registry request of their own. */
  public record Lookup(byte[] bytes, boolean hit) {}

  /** What an entry costs beyond its bytes (array header, key, node): keeps tiny blobs honest. */
  private static final int ENTRY_OVERHEAD = 160;

  private final AsyncCache<Digest, SingleFlight.Outcome<byte[]>> cache;
  private final int maxBlobBytes;
  private final long maxBytes;

  public BlobCache(long maxBytes, int maxBlobBytes, Duration idle, Ticker ticker) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("blob cache size: " + maxBytes + " bytes (expected: 0 or more)");
    }
    if (maxBlobBytes < 0) {
      throw new IllegalArgumentException("small blob bound: " + maxBlobBytes + " bytes (expected: 0 or more)");
    }
    this.maxBlobBytes = maxBlobBytes;
    this.maxBytes = maxBytes;
    this.cache =
        Caffeine.newBuilder()
            .maximumWeight(maxBytes)
            .weigher((Digest d, SingleFlight.Outcome<byte[]> o) -> o.failed() ? 0 : o.value().length + ENTRY_OVERHEAD)
            .expireAfterAccess(LayerCache.requirePositive(idle, "blob cache idle expiry"))
            .ticker(ticker)
            .executor(Runnable::run)
            .recordStats()
            .buildAsync();
  }

  /** Blobs up to this size are cached; larger ones are streamed. */
  public int maxBlobBytes() {
    return maxBlobBytes;
  }

  /** True when a blob of {@code size} bytes is kept here (and so fetched whole). */
  public boolean holds(long size) {
    return maxBytes > 0 && size >= 0 && size <= maxBlobBytes;
  }

  public CompletableFuture<Lookup> get(Digest digest, Supplier<CompletableFuture<byte[]>> loader) {
    return SingleFlight.get(cache, digest, loader)
        .thenApply(loaded -> new Lookup(loaded.value(), loaded.hit()));
  }

  public CacheStats stats() {
    return cache.synchronous().stats();
  }

  public long size() {
    return cache.synchronous().estimatedSize();
  }

  /** Bytes held, as weighed. */
  public long weight() {
    return cache.synchronous().policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
  }

  public void clear() {
    cache.synchronous().invalidateAll();
  }
}
