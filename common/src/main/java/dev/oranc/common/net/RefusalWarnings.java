package dev.oranc.common.net;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * At most one log line per interval about refused connections; the refusals in between are counted
 * into the next line. Used for connections the address policy refuses (one per registry client) and
 * for client connections over {@code --max-connections} (one per server).
 *
 * <p>Design note. A refusal is caused by whoever sends the request or opens the connection: on a
 * public instance, any client can cause them as fast as it can send. One warning per refusal would
 * let it fill the disk and bury the log an operator reads at 3 a.m.; the metrics still count every
 * one.
 */
public final class RefusalWarnings {

  public static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final LongSupplier nanoTime;
  private final AtomicLong lastWarning;
  private final AtomicLong sinceWarning = new AtomicLong();

  public RefusalWarnings() {
    this(System::nanoTime);
  }

  public RefusalWarnings(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    this.lastWarning = new AtomicLong(nanoTime.getAsLong() - INTERVAL_NANOS);
  }

  /**
   * Records one refusal. Returns how many refusals went unlogged since the last line when this one
   * should be logged (0 for none), or -1 when it should not.
   */
  public long admit() {
    long now = nanoTime.getAsLong();
    long last = lastWarning.get();
    if (now - last >= INTERVAL_NANOS && lastWarning.compareAndSet(last, now)) {
      return sinceWarning.getAndSet(0);
    }
    sinceWarning.incrementAndGet();
    return -1;
  }
}
