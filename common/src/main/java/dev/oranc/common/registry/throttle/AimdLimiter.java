package dev.oranc.common.registry.throttle;

import com.github.benmanes.caffeine.cache.Ticker;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests in flight to one registry origin, additive-increase/multiplicative-decrease.
 *
 * <p>Design note. A registry that rate-limits (ghcr.io: about 2,000 upload starts and 44,000 pulls
 * a minute, then {@code 429} with {@code retry-after}) wants fewer requests, not the same ones
 * again a little later: retrying each request on its own keeps the whole crowd knocking. So the
 * client holds one window per origin, as TCP holds one per connection (RFC 5681): a request starts
 * only while fewer than {@code limit} are in flight and the origin is not paused. A rate-limit
 * answer ({@code 429}, or {@code 503}) halves the window — from what was really in flight, so a
 * window far above the actual load shrinks at once — and pauses the origin for the registry's
 * {@code Retry-After}, or a jittered exponential backoff when it gave none; a burst of such answers
 * to requests sent before the last halving halves only once. Every {@code limit} successes grow the
 * window by one, up to the ceiling, where the limiter stops counting.
 *
 * <p>Unthrottled, a request costs one uncontended lock and a clock read: the window starts at the
 * ceiling ({@link #CEILING}, well above the connections a client keeps to one host, so the
 * connection pool is what bounds an unthrottled client, as before). Waiting requests are queued
 * (bounded; one more is refused) and started in order as permits come back or the pause ends; the
 * limiter never blocks a thread and never sleeps: a pause is a task scheduled on a waiter's event
 * loop. Time comes from an injected {@link Ticker}, so tests move it by hand.
 *
 * <p>What it counts (per client, over all origins, in {@link Throttling}): rate-limit answers, and
 * the time some origin was paused (overlapping pauses of one origin counted once).
 */
public final class AimdLimiter {

  private static final Logger log =
      LoggerFactory.getLogger("dev.oranc.common.registry.AimdLimiter");

  /**
   * The window when nothing was ever rate-limited, and the most it grows back to. Far above the
   * connections one client keeps to one host (64 per event loop by default), so unthrottled
   * requests are never held here.
   */
  static final int CEILING = 1024;

  /** One request wanting to start; the limiter calls back outside its lock. */
  public interface Waiter {
    /** Allowed to start now; {@code grantedNanos} goes back with the outcome. */
    void start(long grantedNanos);

    /** Runs {@code task} after {@code delayNanos} (on the waiter's event loop). */
    void wakeAfter(long delayNanos, Runnable task);
  }

  /**
   * Whether a request started at once, waits, was refused for want of room to wait, or would wait
   * for a pause longer than it may.
   */
  public enum Admission {
    STARTED,
    QUEUED,
    REFUSED,
    PAUSED_TOO_LONG
  }

  private final String origin;
  private final Ticker ticker;
  private final Throttling.Counter counter;
  private final int maxWaiting;
  private final long initialBackoffNanos;
  private final long maxBackoffNanos;

  private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
  private int limit = CEILING;
  private int inFlight;
  private int successes;
  private long pausedUntil;
  private boolean paused;
  private boolean wakePending;
  private long lastDecrease = Long.MIN_VALUE;
  private int consecutive;

  AimdLimiter(
      String origin,
      Ticker ticker,
      Throttling.Counter counter,
      int maxWaiting,
      long initialBackoffNanos,
      long maxBackoffNanos) {
    this.origin = origin;
    this.ticker = ticker;
    this.counter = counter;
    this.maxWaiting = maxWaiting;
    this.initialBackoffNanos = initialBackoffNanos;
    this.maxBackoffNanos = maxBackoffNanos;
  }

  /** Starts {@code w} now (calling {@link Waiter#start} before returning) or queues it. */
  Admission acquire(Waiter w) {
    return acquire(w, Long.MAX_VALUE);
  }

  /**
   * As {@link #acquire(Waiter)}, unless the origin is paused for longer than {@code maxWaitNanos}
   * from now: then {@link Admission#PAUSED_TOO_LONG}, and {@code w} is not queued.
   */
  public Admission acquire(Waiter w, long maxWaitNanos) {
    long now;
    synchronized (this) {
      now = ticker.read();
      if (waiting.isEmpty() && !pausedAt(now) && inFlight < limit) {
        inFlight++;
      } else if (pausedAt(now) && pausedUntil - now > maxWaitNanos) {
        return Admission.PAUSED_TOO_LONG;
      } else if (waiting.size() >= maxWaiting) {
        return Admission.REFUSED;
      } else {
        waiting.add(w);
        scheduleWake(now);
        return Admission.QUEUED;
      }
    }
    w.start(now);
    return Admission.STARTED;
  }

  /** The request started at {@code grantedNanos} was answered, not rate-limited. */
  public void onSuccess(long grantedNanos) {
    boolean waiters;
    synchronized (this) {
      inFlight--;
      consecutive = 0;
      if (limit < CEILING && ++successes >= limit) {
        successes = 0;
        limit++;
      }
      waiters = !waiting.isEmpty();
    }
    if (waiters) {
      drain();
    }
  }

  /** The request failed some other way (no answer, a 5xx that is no rate limit): no signal. */
  public void onOther(long grantedNanos) {
    boolean waiters;
    synchronized (this) {
      inFlight--;
      waiters = !waiting.isEmpty();
    }
    if (waiters) {
      drain();
    }
  }

  /** As {@link #onRateLimited(long, long, long)} for a request that may wait however long. */
  long onRateLimited(long grantedNanos, long retryAfterNanos) {
    return onRateLimited(grantedNanos, retryAfterNanos, Long.MAX_VALUE);
  }

  /**
   * The request was rate-limited: halves the window (once per round of requests) and pauses the
   * origin — unless the wait is longer than the request may wait ({@code maxPauseNanos}): then that
   * request fails and the others go on and hear for themselves. A registry may well limit one
   * repository or one tag for an hour and serve the rest; an hour's pause of the whole origin on
   * one answer would fail everything else without a request.
   *
   * @param retryAfterNanos the registry's {@code Retry-After}, or -1 when it gave none
   * @return how long the request would wait from now: the origin's pause, or the wait it was asked
   *     for when that is over {@code maxPauseNanos} (the origin is then not paused for it)
   */
  public long onRateLimited(long grantedNanos, long retryAfterNanos, long maxPauseNanos) {
    long wait;
    synchronized (this) {
      long now = ticker.read();
      counter.rateLimited();
      if (grantedNanos > lastDecrease) {
        int before = limit;
        limit = Math.max(1, Math.min(limit, inFlight) / 2);
        successes = 0;
        lastDecrease = now;
        if (limit != before) {
          log.info(
              "{} is rate-limiting: at most {} requests in flight now (was {})",
              origin,
              limit,
              Math.min(before, inFlight));
        }
      }
      inFlight--;
      consecutive++;
      wait = retryAfterNanos >= 0 ? retryAfterNanos : backoffNanos(consecutive);
      if (wait <= maxPauseNanos) {
        long until = now + wait;
        if (!pausedAt(now) || until - pausedUntil > 0) {
          long from = pausedAt(now) ? pausedUntil : now;
          counter.throttled(until - from);
          pausedUntil = until;
          paused = true;
        }
        wait = pausedUntil - now;
      }
    }
    drain();
    return wait;
  }

  /** Starts what may start now; schedules a wake-up at the pause's end for the rest. */
  private void drain() {
    ArrayDeque<Waiter> go = null;
    long now;
    synchronized (this) {
      now = ticker.read();
      if (pausedAt(now)) {
        scheduleWake(now);
        return;
      }
      while (inFlight < limit && !waiting.isEmpty()) {
        inFlight++;
        if (go == null) {
          go = new ArrayDeque<>();
        }
        go.add(waiting.poll());
      }
    }
    if (go != null) {
      for (Waiter w : go) {
        w.start(now);
      }
    }
  }

  /** Under the lock: one wake-up at the pause's end while something waits for it. */
  private void scheduleWake(long now) {
    if (!pausedAt(now) || wakePending || waiting.isEmpty()) {
      return;
    }
    wakePending = true;
    waiting
        .peek()
        .wakeAfter(
            pausedUntil - now,
            () -> {
              synchronized (this) {
                wakePending = false;
              }
              drain();
            });
  }

  private boolean pausedAt(long now) {
    if (paused && now - pausedUntil >= 0) {
      paused = false;
    }
    return paused;
  }

  /** Full jitter, as {@code CallRunner.backoffMillis}: uniform in [base/2, base]. */
  private long backoffNanos(int n) {
    long base = Math.min(maxBackoffNanos, initialBackoffNanos << Math.min(20, n - 1));
    return base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
  }

  /** How long the origin stays paused from now; 0 when it is not. */
  public synchronized long pauseLeft() {
    long now = ticker.read();
    return pausedAt(now) ? pausedUntil - now : 0;
  }

  /** Throttled now: a smaller window than the ceiling, or paused. */
  public synchronized boolean throttled() {
    return limit < CEILING || pausedAt(ticker.read());
  }

  synchronized int limit() {
    return limit;
  }

  synchronized int inFlight() {
    return inFlight;
  }

  synchronized int waiting() {
    return waiting.size();
  }

  /** Nothing in flight or waiting: may be forgotten. */
  synchronized boolean idle() {
    return inFlight == 0 && waiting.isEmpty();
  }
}
