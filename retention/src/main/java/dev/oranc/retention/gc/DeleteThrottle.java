package dev.oranc.retention.gc;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Spreads deletes evenly: at most {@code perMinute} a minute, one every {@code 60 s / perMinute},
 * without bursts (a registry's abuse detection looks at short windows). Time and sleeping are
 * injected, so tests neither wait nor depend on the machine's speed.
 */
public final class DeleteThrottle {

  /** How {@link DeleteThrottle} and rate-limit waits pause; tests record instead of sleeping. */
  public interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;

    Sleeper SYSTEM = d -> Thread.sleep(d.toMillis(), (int) (d.toNanosPart() % 1_000_000));
  }

  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final Sleeper sleeper;
  private long next;
  private boolean started;

  /**
   * @param perMinute 0 for no limit
   */
  public DeleteThrottle(int perMinute, LongSupplier nanoTime, Sleeper sleeper) {
    if (perMinute < 0) {
      throw new IllegalArgumentException("perMinute: " + perMinute + " (expected: 0 or more)");
    }
    this.intervalNanos = perMinute == 0 ? 0 : 60_000_000_000L / perMinute;
    this.nanoTime = nanoTime;
    this.sleeper = sleeper;
  }

  public static DeleteThrottle system(int perMinute) {
    return new DeleteThrottle(perMinute, System::nanoTime, Sleeper.SYSTEM);
  }

  /** Waits until the next delete may go. */
  public synchronized void acquire() throws InterruptedException {
    if (intervalNanos == 0) {
      return;
    }
    long now = nanoTime.getAsLong();
    if (!started || now - next > 0) {
      next = now;
      started = true;
    }
    long wait = next - now;
    if (wait > 0) {
      sleeper.sleep(Duration.ofNanos(wait));
    }
    next += intervalNanos;
  }
}
