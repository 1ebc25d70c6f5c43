package dev.oranc.common.registry.throttle;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * How much registries rate-limited one client: a metric, and the line {@code oranc push} ends its
 * summary with.
 *
 * @param rateLimitAnswers {@code 429} answers (and {@code 503}, which registries also use to shed
 *     load) the client slowed down for
 * @param throttled how long some registry origin was paused in all, overlapping pauses of one
 *     origin counted once
 */
public record Throttling(long rateLimitAnswers, Duration throttled) {

  public static final Throttling NONE = new Throttling(0, Duration.ZERO);

  public Throttling {
    if (rateLimitAnswers < 0 || throttled == null || throttled.isNegative()) {
      throw new IllegalArgumentException(
          "throttling: " + rateLimitAnswers + " answers, " + throttled + " (expected: 0 or more)");
    }
  }

  public boolean any() {
    return rateLimitAnswers > 0;
  }

  /** "throttled 3 times, 12.4 s", or "" when never. */
  public String describe() {
    if (!any()) {
      return "";
    }
    return String.format(
        Locale.ROOT,
        "throttled %d time%s, %.1f s",
        rateLimitAnswers,
        rateLimitAnswers == 1 ? "" : "s",
        throttled.toMillis() / 1000.0);
  }

  /** The running totals of one client; never decreases (an evicted origin's counts stay). */
  static final class Counter {
    private final LongAdder answers = new LongAdder();
    private final LongAdder nanos = new LongAdder();

    void rateLimited() {
      answers.increment();
    }

    void throttled(long addNanos) {
      nanos.add(addNanos);
    }

    Throttling snapshot() {
      return new Throttling(answers.sum(), Duration.ofNanos(nanos.sum()));
    }
  }
}
