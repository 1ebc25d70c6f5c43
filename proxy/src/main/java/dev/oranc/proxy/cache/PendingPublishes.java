package dev.oranc.proxy.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.oci.RepositoryRef;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The NAR publishes this process has answered for but not finished: a NAR {@code PUT} is answered
 * as soon as its blob is stored, and its image (config, manifest) goes up afterwards. Keyed by
 * (registry, repository, key).
 *
 * <p>Design note. The invariant is that a narinfo is visible only once the NAR it names is in the
 * registry. A narinfo {@code PUT} whose NAR is pending here waits for that publish before its own
 * manifest goes up ({@link #pending}); one whose NAR's publish failed here is refused ({@link
 * #failure}); one whose NAR was published here lately needs no look-up ({@link #publishedLately}).
 * A {@code GET}/{@code HEAD} of a pending NAR waits rather than answering 404.
 *
 * <p>Bounded: at most {@code maxPending} publishes are pending; {@link #begin} returns null beyond
 * that and the caller answers only after publishing, as without this table, so a client cannot grow
 * it. An entry leaves on completion or failure ({@link #end}); failures and successes are
 * remembered in size-bounded caches that expire ({@code remember}), so memory is bounded whatever
 * clients send.
 */
public final class PendingPublishes {

  /** The default bound on pending publishes. */
  public static final int DEFAULT_MAX_PENDING = 1024;

  /** How long an outcome is remembered (a narinfo PUT follows its NAR's within seconds). */
  public static final Duration DEFAULT_REMEMBER = Duration.ofMinutes(10);

  private static final int MAX_REMEMBERED = 16_384;

  record Key(String registry, String repository, String key) {
    static Key of(RepositoryRef repo, String key) {
      return new Key(repo.registry(), repo.repository(), key);
    }
  }

  private final int maxPending;
  private final Map<Key, CompletableFuture<Void>> pending = new ConcurrentHashMap<>();
  private final Cache<Key, String> failed;
  private final Cache<Key, Boolean> published;

  public PendingPublishes(int maxPending, Duration remember, Ticker ticker) {
    if (maxPending < 0) {
      throw new IllegalArgumentException("maxPending " + maxPending + " (expected: 0 or more)");
    }
    this.maxPending = maxPending;
    this.failed =
        Caffeine.newBuilder()
            .maximumSize(MAX_REMEMBERED)
            .expireAfterWrite(remember)
            .ticker(ticker)
            .build();
    this.published =
        Caffeine.newBuilder()
            .maximumSize(MAX_REMEMBERED)
            .expireAfterWrite(remember)
            .ticker(ticker)
            .build();
  }

  /** With the defaults. */
  public PendingPublishes() {
    this(DEFAULT_MAX_PENDING, DEFAULT_REMEMBER, Ticker.systemTicker());
  }

  /**
   * Registers a publish of {@code key} about to run in the background: the future to complete
   * through {@link #end}, or null when the table is full (or answering early is off: {@code
   * maxPending} 0) and the caller must publish before answering.
   */
  public synchronized CompletableFuture<Void> begin(RepositoryRef repo, String key) {
    if (pending.size() >= maxPending) {
      return null;
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    Key k = Key.of(repo, key);
    // A second PUT of the same key while the first publishes: both waiters see the later one.
    CompletableFuture<Void> earlier = pending.put(k, f);
    if (earlier != null) {
      f.whenComplete((v, e) -> earlier.complete(null));
    }
    return f;
  }

  /** The publish of {@code f} ended: with {@code error} null it is in the registry. */
  public void end(RepositoryRef repo, String key, CompletableFuture<Void> f, Throwable error) {
    Key k = Key.of(repo, key);
    // The outcome first, so a waiter woken below finds it.
    if (error == null) {
      failed.invalidate(k);
      published.put(k, Boolean.TRUE);
    } else {
      published.invalidate(k);
      failed.put(k, String.valueOf(error.getMessage()));
    }
    pending.remove(k, f);
    if (error == null) {
      f.complete(null);
    } else {
      f.completeExceptionally(error);
    }
  }

  /** {@code key} was published here before its PUT was answered. */
  public void published(RepositoryRef repo, String key) {
    Key k = Key.of(repo, key);
    failed.invalidate(k);
    published.put(k, Boolean.TRUE);
  }

  /** The publish of {@code key} in progress here, or null. */
  public CompletableFuture<Void> pending(RepositoryRef repo, String key) {
    return pending.get(Key.of(repo, key));
  }

  /** Why the latest publish of {@code key} here failed, if it did (and was not redone since). */
  public Optional<String> failure(RepositoryRef repo, String key) {
    return Optional.ofNullable(failed.getIfPresent(Key.of(repo, key)));
  }

  /** Whether {@code key} was published here lately (and no publish of it failed since). */
  public boolean publishedLately(RepositoryRef repo, String key) {
    return published.getIfPresent(Key.of(repo, key)) != null;
  }

  /**
   * Completes (never exceptionally) once every publish pending now has ended, well or not: a
   * stopping server waits on it, so a NAR answered 200 gets its tag before the process ends.
   */
  public CompletableFuture<Void> whenIdle() {
    CompletableFuture<?>[] now =
        pending.values().stream()
            .map(f -> f.handle((v, e) -> null))
            .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(now);
  }

  /** Publishes pending now. */
  public int size() {
    return pending.size();
  }

  public int maxPending() {
    return maxPending;
  }
}
