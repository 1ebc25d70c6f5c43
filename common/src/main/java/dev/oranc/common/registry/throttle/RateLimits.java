package dev.oranc.common.registry.throttle;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Connections;
import dev.oranc.common.registry.transport.Origin;
import java.time.Duration;

/**
 * The {@link AimdLimiter}s of one client, one per registry origin and direction, and what they
 * counted.
 *
 * <p>Reads (GET, HEAD) and writes (everything else) have windows of their own: ghcr.io counts pulls
 * and upload starts separately (44,000 and 2,000 a minute), so a push held back on upload starts
 * must not stall the server's substitutions from the same registry.
 *
 * <p>Bounded as {@link Connections} is: origins come from requests, so at most {@link #MAX_ORIGINS}
 * limiters are kept, the least used evicted first. An evicted limiter goes on serving the requests
 * that hold it; new requests to its origin get a fresh window at the ceiling, so forgetting costs
 * at most one more round of 429s. The counts live here, not in the limiters, and survive eviction.
 */
public final class RateLimits {

  static final int MAX_ORIGINS = 1024;

  private final RegistryClientConfig config;
  private final Ticker ticker;
  private final Throttling.Counter counter = new Throttling.Counter();

  private record Key(Origin origin, boolean write) {}

  private final Cache<Key, AimdLimiter> limiters;

  public RateLimits(RegistryClientConfig config, Ticker ticker) {
    this.config = config;
    this.ticker = ticker;
    this.limiters = Caffeine.newBuilder().maximumSize(MAX_ORIGINS).executor(Runnable::run).build();
  }

  public AimdLimiter forOrigin(Origin origin, boolean write) {
    return limiters.get(
        new Key(origin, write),
        k ->
            new AimdLimiter(
                k.origin() + (k.write() ? " (writes)" : " (reads)"),
                ticker,
                counter,
                Math.max(1, config.maxPendingAcquires()),
                config.initialBackoff().toNanos(),
                config.maxBackoff().toNanos()));
  }

  public Ticker ticker() {
    return ticker;
  }

  /** What was counted, less the pauses still to come: time spent, not time announced. */
  public Throttling throttling() {
    Throttling t = counter.snapshot();
    long ahead = 0;
    for (AimdLimiter l : limiters.asMap().values()) {
      ahead += l.pauseLeft();
    }
    return ahead == 0
        ? t
        : new Throttling(
            t.rateLimitAnswers(), Duration.ofNanos(Math.max(0, t.throttled().toNanos() - ahead)));
  }
}
