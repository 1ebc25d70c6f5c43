package dev.oranc.common.registry;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * At most one log line per interval about connections the address policy refused, for one
 * client; the refusals in between are counted into the next line.
 *
 * <p>Design note. A refusal is caused by whoever names the registry: on a public instance, any
 * client can make the server try a host that resolves to a private address, as fast as it can
 * send requests. One warning per refusal would let it fill the disk and bury the log an operator
 * reads at 3 a.m.; the metric ({@code oranc_registry_refused_total}) still counts every one.
 */
final class RefusalWarnings {

  static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final LongSupplier nanoTime;
  private final AtomicLong lastWarning;
  private final AtomicLong sinceWarning = new AtomicLong();

  RefusalWarnings() {
    this(System::nanoTime);
  }

  RefusalWarnings(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    this.lastWarning = new AtomicLong(nanoTime.getAsLong() - INTERVAL_NANOS);
  }

  /**
   * Records one refusal. Returns how many refusals went unlogged since the last line when this
   * one should be logged (0 for none), or -1 when it should not.
   */
  long admit() {
    long now = nanoTime.getAsLong();
    long last = lastWarning.get();
    if (now - last >= INTERVAL_NANOS && lastWarning.compareAndSet(last, now)) {
      return sinceWarning.getAndSet(0);
    }
    sinceWarning.incrementAndGet();
    return -1;
  }
}
