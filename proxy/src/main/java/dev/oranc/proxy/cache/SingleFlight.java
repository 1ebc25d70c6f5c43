package dev.oranc.proxy.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Loads through a Caffeine {@link AsyncCache} so that concurrent misses share one load, and a
 * failed load is handed to every waiter but not kept.
 *
 * <p>Why not let the cached future fail: Caffeine drops a failed future on its own, but logs each
 * one with its stack trace ("Exception thrown during asynchronous load"), and a registry that is
 * down would flood the log with traces. So the cache holds {@link Outcome}s, which never fail; a
 * failed outcome is removed as soon as it completes (and expires at once, should the removal
 * lose a race), and is turned back into a failure for the callers.
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
