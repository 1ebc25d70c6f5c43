package dev.oranc.proxy.upstream;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.proxy.cache.SingleFlight;
import dev.oranc.proxy.metrics.ServerMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks upstream caches ({@code -u}) whether they have a key, so that {@code nix copy --to} skips
 * what cache.nixos.org already has: {@code HEAD <upstream>/<key>}, and a 200 means "redirect there"
 * (SPEC §3).
 *
 * <p>Design note. Upstreams are ordinary HTTPS sites, not registries, so this uses the JDK's {@link
 * HttpClient} (HTTP/2 where offered, its own connection pool and TLS) on a small thread pool of its
 * own; the event loops only get the answer. Answers are cached per key (the upstream list is
 * fixed): found for {@code ttl}, absent for {@code negativeTtl}. A check that could not be
 * completed (an upstream failing after {@code --max-retry} attempts) is not cached and is treated
 * as "not upstream": the request then goes to the registry, which is always correct, only slower.
 * Concurrent checks of one key share one round of requests.
 */
public final class UpstreamChecker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(UpstreamChecker.class);

  /** The answer for one key: where to redirect, and whether it came from the cache. */
  public record Lookup(Optional<URI> location, boolean hit) {}

  /** An upstream failed: the answer is unknown and not cached. */
  private static final class Unknown extends RuntimeException {
    Unknown() {
      super(null, null, false, false);
    }
  }

  private final List<URI> upstreams;
  private final Pattern ignore;
  private final boolean anonymous;
  private final int maxAttempts;
  private final Duration timeout;
  private final ServerMetrics metrics;
  private final ExecutorService executor;
  private final HttpClient http;
  private final AsyncCache<String, SingleFlight.Outcome<Optional<URI>>> cache;

  public UpstreamChecker(
      List<URI> upstreams,
      Pattern ignore,
      boolean anonymous,
      int maxAttempts,
      Duration timeout,
      long maxEntries,
      Duration ttl,
      Duration negativeTtl,
      Ticker ticker,
      ServerMetrics metrics) {
    this.upstreams = List.copyOf(upstreams);
    this.ignore = ignore;
    this.anonymous = anonymous;
    this.maxAttempts = maxAttempts;
    this.timeout = timeout;
    this.metrics = metrics;
    AtomicInteger n = new AtomicInteger();
    this.executor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "oranc-upstream-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    this.http =
        HttpClient.newBuilder()
            .executor(executor)
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    this.cache = SingleFlight.cache(maxEntries, ttl, key -> negativeTtl, ticker);
  }

  /**
   * Whether a request for {@code key} with these credentials is checked upstream: there are
   * upstreams, the key is not ignored ({@code -i}), and the request has credentials or {@code
   * --upstream-anonymous} is set.
   */
  public boolean applies(String key, Credentials credentials) {
    return !upstreams.isEmpty()
        && (anonymous || !credentials.isAnonymous())
        && !ignore.matcher(key).find();
  }

  /** Where {@code key} is upstream, if anywhere. Never fails: an unknown answer is "nowhere". */
  public CompletableFuture<Lookup> check(String key) {
    return SingleFlight.get(cache, key, () -> ask(key, 0, false))
        .handle(
            (loaded, error) ->
                error != null
                    ? new Lookup(Optional.empty(), false)
                    : new Lookup(loaded.value(), loaded.hit()));
  }

  private CompletableFuture<Optional<URI>> ask(String key, int index, boolean anyFailed) {
    if (index == upstreams.size()) {
      if (anyFailed) {
        return CompletableFuture.failedFuture(new Unknown());
      }
      metrics.upstream("absent");
      return CompletableFuture.completedFuture(Optional.empty());
    }
    URI url = resolve(upstreams.get(index), key);
    return head(url, 1)
        .thenCompose(
            status -> {
              if (status == 200) {
                metrics.upstream("found");
                log.debug("upstream {} has {}", url.getHost(), key);
                return CompletableFuture.completedFuture(Optional.of(url));
              }
              return ask(key, index + 1, anyFailed || status < 0);
            });
  }

  /**
   * The status of {@code HEAD url}: 200, another definite answer, or -1 when every attempt failed.
   */
  private CompletableFuture<Integer> head(URI url, int attempt) {
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .method("HEAD", HttpRequest.BodyPublishers.noBody())
            .timeout(timeout)
            .header("User-Agent", "oranc")
            .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .handle(
            (response, error) -> {
              int status = error == null ? response.statusCode() : -1;
              if (status == 200 || (status >= 400 && status < 500 && status != 429)) {
                return CompletableFuture.completedFuture(status);
              }
              String what = error == null ? "answered " + status : failure(error);
              if (attempt < maxAttempts) {
                log.debug("upstream HEAD {} attempt {}/{}: {}", url, attempt, maxAttempts, what);
                return head(url, attempt + 1);
              }
              metrics.upstream("failed");
              log.warn("upstream HEAD {} failed after {} attempts: {}", url, attempt, what);
              return CompletableFuture.completedFuture(-1);
            })
        .thenCompose(f -> f);
  }

  private static String failure(Throwable error) {
    Throwable t =
        error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** {@code base} + "/" + the key, each key segment percent-encoded. */
  static URI resolve(URI base, String key) {
    String path = base.getRawPath() == null ? "" : base.getRawPath();
    StringBuilder b = new StringBuilder(path);
    if (!path.endsWith("/")) {
      b.append('/');
    }
    String[] segments = key.split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      if (i > 0) {
        b.append('/');
      }
      encodeSegment(segments[i], b);
    }
    // A userinfo in -u would go to every client in Location headers (and the JDK client ignores
    // it anyway): it is dropped.
    String authority = base.getHost() + (base.getPort() >= 0 ? ":" + base.getPort() : "");
    return URI.create(base.getScheme() + "://" + authority + b);
  }

  private static void encodeSegment(String segment, StringBuilder out) {
    for (byte x : segment.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if ((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || "-._~!$&'()*+,;=:@".indexOf(c) >= 0) {
        out.append((char) c);
      } else {
        out.append('%')
            .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
  }

  public CacheStats stats() {
    return cache.synchronous().stats();
  }

  public long size() {
    return cache.synchronous().estimatedSize();
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
