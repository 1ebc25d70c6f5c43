package dev.oranc.proxy.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Loads through a Caffeine {@link AsyncCache} so that concurrent misses share one load, and a
 * failed load is handed to every waiter but not kept.
 *
 * <p>Why not let the cached future fail: Caffeine drops a failed future on its own, but logs each
 * one with its stack trace ("Exception thrown during asynchronous load"), and a registry that is
 * down would flood the log with traces. So the cache holds {@link Outcome}s, which never fail; a
 * failed outcome is removed as soon as it completes (and expires at once, should the removal lose a
 * race), and is turned back into a failure for the callers.
 */
public final class SingleFlight {

  private SingleFlight() {}

  /** A load's result: a value, or the failure. */
  public record Outcome<V>(V value, Throwable failure) {
    boolean failed() {
      return failure != null;
    }
  }

  /** A value, and whether this caller found it cached or in flight rather than loading it. */
  public record Loaded<V>(V value, boolean hit) {}

  /**
   * A cache for {@link #get} of answers that may be "none": a found answer lives {@code ttl}, a
   * miss {@code missTtl} of its key (zero: not remembered, though concurrent misses still share one
   * load), a failure not at all. A read does not extend a lifetime. At most {@code maxEntries},
   * statistics recorded.
   */
  public static <K, V> AsyncCache<K, Outcome<Optional<V>>> cache(
      long maxEntries, Duration ttl, Function<K, Duration> missTtl, Ticker ticker) {
    long foundNanos = ttl.toNanos();
    return Caffeine.newBuilder()
        .maximumSize(maxEntries)
        .expireAfter(
            new Expiry<K, Outcome<Optional<V>>>() {
              @Override
              public long expireAfterCreate(K key, Outcome<Optional<V>> value, long currentTime) {
                return lifetime(key, value);
              }

              @Override
              public long expireAfterUpdate(
                  K key, Outcome<Optional<V>> value, long currentTime, long currentDuration) {
                return lifetime(key, value);
              }

              @Override
              public long expireAfterRead(
                  K key, Outcome<Optional<V>> value, long currentTime, long currentDuration) {
                return currentDuration;
              }

              private long lifetime(K key, Outcome<Optional<V>> value) {
                if (value.failed()) {
                  return 0;
                }
                return value.value().isPresent() ? foundNanos : missTtl.apply(key).toNanos();
              }
            })
        .ticker(ticker)
        // Maintenance and completions run on the calling thread (an event loop), not a pool.
        .executor(Runnable::run)
        .recordStats()
        .buildAsync();
  }

  public static <K, V> CompletableFuture<Loaded<V>> get(
      AsyncCache<K, Outcome<V>> cache, K key, Supplier<CompletableFuture<V>> loader) {
    boolean[] loaded = {false};
    CompletableFuture<Outcome<V>> f =
        cache.get(
            key,
            (k, executor) -> {
              loaded[0] = true;
              CompletableFuture<V> load;
              try {
                load = loader.get();
              } catch (RuntimeException e) {
                load = CompletableFuture.failedFuture(e);
              }
              return load.handle((v, e) -> new Outcome<>(v, e));
            });
    if (loaded[0]) {
      f.thenAccept(
          outcome -> {
            if (outcome.failed()) {
              cache.asMap().remove(key, f);
            }
          });
    }
    return f.thenCompose(
        outcome ->
            outcome.failed()
                ? CompletableFuture.failedFuture(outcome.failure())
                : CompletableFuture.completedFuture(new Loaded<>(outcome.value(), !loaded[0])));
  }
}
