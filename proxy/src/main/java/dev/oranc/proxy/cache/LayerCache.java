package dev.oranc.proxy.cache;

import static dev.oranc.common.error.ConfigCheck.require;
import static dev.oranc.common.error.ConfigCheck.requirePositive;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Which layer a cache key resolves to: {@code (registry, repository, key, credential scope) →} the
 * {@link StoredFile} (digest, size, content type and encoding), or "no such key".
 *
 * <p>Design note.
 *
 * <ul>
 *   <li><b>Scoped by credentials.</b> The scope is {@link Credentials#fingerprint()}, so an answer
 *       the registry gave to one credential is never served to a request with another; anonymous
 *       requests share the anonymous scope. A private repository does not leak through the cache.
 *   <li><b>Single flight.</b> The cache holds futures: concurrent misses for one entry wait on the
 *       one registry lookup the first of them started (100 cold GETs, one manifest request).
 *   <li><b>Two lifetimes.</b> A found layer lives {@code ttl} (minutes: a key is rewritten rarely,
 *       and a PUT through this server invalidates it at once); a miss lives {@code negativeTtl}
 *       (seconds: Nix remembers a 404 for an hour, so a miss that is over must not linger here
 *       too). A failed lookup (registry down, refused) is not cached at all: Caffeine drops a
 *       future that completes exceptionally.
 *   <li><b>Invalidation</b> after a PUT drops the key in every scope, including a lookup still in
 *       flight (its answer, possibly from before the PUT, is then not kept). It walks the keys:
 *       O(entries) per PUT, which at the default bound is well under a millisecond of work and
 *       keeps the structure a plain cache.
 *   <li><b>A NAR's miss is not remembered</b> (concurrent misses still share one lookup). Nix asks
 *       for a NAR that is not there only right before uploading it ({@code nix copy --to} checks
 *       the NAR's URL first); it never substitutes a NAR without a narinfo naming it. With replicas
 *       behind a load balancer that check may reach one replica and the upload another: a
 *       remembered miss would then answer 404 for the NAR for {@code negativeTtl} while its narinfo
 *       is already served, and a client substituting the path at that moment would fail. Not
 *       remembering it costs one registry lookup per upload. ReplicasIT checks it.
 * </ul>
 */
public final class LayerCache {

  /** Keys whose misses are not remembered (see "A NAR's miss" in the class comment). */
  static final String NAR_PREFIX = "nar/";

  /** An entry's identity. {@code scope} is a credential fingerprint, never a secret. */
  public record Key(String registry, String repository, String key, String scope) {
    static Key of(RepositoryRef repo, String key, Credentials credentials) {
      return new Key(repo.registry(), repo.repository(), key, credentials.fingerprint());
    }
  }

  /** An answer, and whether it came without a registry request of its own. */
  public record Lookup(Optional<StoredFile> file, boolean hit) {}

  private final AsyncCache<Key, SingleFlight.Outcome<Optional<StoredFile>>> cache;

  public LayerCache(long maxEntries, Duration ttl, Duration negativeTtl, Ticker ticker) {
    require(maxEntries >= 0, "layer cache entries", maxEntries, "0 or more");
    requirePositive(ttl, "layer cache TTL");
    requirePositive(negativeTtl, "layer cache negative TTL");
    this.cache =
        SingleFlight.cache(
            maxEntries,
            ttl,
            key -> key.key().startsWith(NAR_PREFIX) ? Duration.ZERO : negativeTtl,
            ticker);
  }

  /**
   * The cached answer for this key and credential, or {@code loader}'s, which runs only when no
   * answer is cached or in flight. The future completes on whichever thread completed the lookup:
   * callers hop back to their own event loop.
   */
  public CompletableFuture<Lookup> get(
      RepositoryRef repo,
      String key,
      Credentials credentials,
      Supplier<CompletableFuture<Optional<StoredFile>>> loader) {
    return SingleFlight.get(cache, Key.of(repo, key, credentials), loader)
        .thenApply(loaded -> new Lookup(loaded.value(), loaded.hit()));
  }

  /** True when an answer (or a lookup in flight) is held for this key and credential. */
  public boolean contains(RepositoryRef repo, String key, Credentials credentials) {
    // Not getIfPresent: a look here is no request, and must not count as a hit or miss.
    return cache.asMap().containsKey(Key.of(repo, key, credentials));
  }

  /** Forgets {@code key} in {@code repo} for every credential scope (after a PUT of it). */
  public void invalidate(RepositoryRef repo, String key) {
    cache
        .asMap()
        .keySet()
        .removeIf(
            k ->
                k.key.equals(key)
                    && k.repository.equals(repo.repository())
                    && k.registry.equals(repo.registry()));
  }

  public CacheStats stats() {
    return cache.synchronous().stats();
  }

  public long size() {
    return cache.synchronous().estimatedSize();
  }

  public void clear() {
    cache.synchronous().invalidateAll();
  }
}
