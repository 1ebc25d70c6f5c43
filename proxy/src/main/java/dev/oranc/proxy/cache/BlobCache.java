package dev.oranc.proxy.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.oranc.common.error.ConfigCheck;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Small blobs (narinfos, listings, cache info) by (registry, repository, digest), so that a warm
 * narinfo GET makes no registry request at all.
 *
 * <p>Design note.
 *
 * <ul>
 *   <li><b>Keyed by repository, not by digest alone.</b> A digest is no secret: a narinfo names its
 *       NAR's (FileHash), an S3 client is told the ETag, and a registry's manifest can name any
 *       digest it likes. Keyed by digest alone, a manifest in another registry (or another
 *       repository) that names Alice's digest and size would be answered with Alice's cached bytes,
 *       and whether a digest is cached would show in how such a request is answered. So an entry is
 *       {@code (registry, repository, digest)}: bytes fetched from one repository are only ever
 *       served for a manifest of that same repository, and a request for any other repository
 *       misses, goes to its own registry and gets what that registry has (or its refusal), the same
 *       requests whether or not another repository's entry exists.
 *   <li><b>Not keyed by credentials.</b> The server consults this cache only after resolving the
 *       request's key with the request's own credentials ({@link LayerCache} is scoped by them):
 *       the registry has just let these credentials read a manifest of this repository that names
 *       this digest. Registries authorise per repository — a token's scope is {@code
 *       repository:NAME:pull}, for manifests and blobs alike (distribution, ghcr.io, Docker Hub
 *       have no per-blob or per-tag rights) — and an entry exists only because a fetch from this
 *       repository returned bytes with this digest, so the repository holds the blob and {@code GET
 *       /v2/NAME/blobs/DIGEST} with these credentials would return these very bytes. Sharing the
 *       entry across credentials of one repository therefore gives nobody bytes the registry would
 *       not; keying by credentials as well would only multiply the copies (a repository read by
 *       many users). A registry that authorised blobs finer than per repository would break this
 *       reasoning; none in the OCI distribution model does. (A blob deleted from the repository
 *       after it was cached is still served for a manifest naming it, until {@code idle} has
 *       passed: the bytes are the ones that manifest names, and the manifest must still resolve.)
 *   <li><b>Bounds.</b> Entries are bounded in total bytes ({@code maxBytes}, weighed by length plus
 *       the key's), and each is at most {@code maxBlobBytes}; larger blobs are streamed and never
 *       held. A blob's bytes were checked against its digest when fetched (the registry client
 *       verifies small blobs), so an entry never needs revalidating; entries unused for {@code
 *       idle} are dropped to give memory back. Concurrent misses for one entry share one fetch.
 * </ul>
 */
public final class BlobCache {

  /** Bytes, and whether they came without a registry request of their own. */
  public record Lookup(byte[] bytes, boolean hit) {}

  /** An entry's identity: the blob, in the repository it was fetched from. */
  public record Key(RepositoryRef repository, Digest digest) {
    public Key {
      Objects.requireNonNull(repository, "repository");
      Objects.requireNonNull(digest, "digest");
    }

    /** The key's strings, roughly, in bytes (compact Latin-1 strings: a byte a character). */
    int weight() {
      return repository.registry().length() + repository.repository().length();
    }
  }

  /** What an entry costs beyond its bytes (array header, key, node): keeps tiny blobs honest. */
  private static final int ENTRY_OVERHEAD = 160;

  private final AsyncCache<Key, SingleFlight.Outcome<byte[]>> cache;
  private final int maxBlobBytes;
  private final long maxBytes;

  public BlobCache(long maxBytes, int maxBlobBytes, Duration idle, Ticker ticker) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException(
          "blob cache size: " + maxBytes + " bytes (expected: 0 or more)");
    }
    if (maxBlobBytes < 0) {
      throw new IllegalArgumentException(
          "small blob bound: " + maxBlobBytes + " bytes (expected: 0 or more)");
    }
    this.maxBlobBytes = maxBlobBytes;
    this.maxBytes = maxBytes;
    this.cache =
        Caffeine.newBuilder()
            .maximumWeight(maxBytes)
            .weigher(
                (Key k, SingleFlight.Outcome<byte[]> o) ->
                    o.failed() ? 0 : o.value().length + k.weight() + ENTRY_OVERHEAD)
            .expireAfterAccess(ConfigCheck.requirePositive(idle, "blob cache idle expiry"))
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

  /**
   * The bytes of blob {@code digest} as fetched from {@code repository}, or {@code loader}'s (which
   * must fetch it from that repository), which runs only when none are cached or in flight for it.
   * Call only after the request's key resolved to this digest in this repository with the request's
   * credentials (see the class comment).
   */
  public CompletableFuture<Lookup> get(
      RepositoryRef repository, Digest digest, Supplier<CompletableFuture<byte[]>> loader) {
    return SingleFlight.get(cache, new Key(repository, digest), loader)
        .thenApply(loaded -> new Lookup(loaded.value(), loaded.hit()));
  }

  /** True when bytes (or a fetch in flight) are held for this blob of this repository. */
  public boolean contains(RepositoryRef repository, Digest digest) {
    return cache.asMap().containsKey(new Key(repository, digest)); // counts no hit or miss
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
