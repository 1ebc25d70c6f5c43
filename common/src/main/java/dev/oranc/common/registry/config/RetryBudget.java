package dev.oranc.common.registry.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code --max-retry} says: attempts of a failing request, or how long a rate-limited one may
 * keep waiting.
 *
 * <p>Design note. {@code --max-retry} was, and still is, a number: attempts of a request that fails
 * (no answer, a 5xx), as the Rust oranc's flag. Rate limits are not failures: a registry that
 * answers {@code 429} is asking us to wait, and a count of attempts says nothing about how long. So
 * the flag also takes a duration ({@code 90s}, {@code 5m}, {@code 1h}): the time a request may
 * spend held back by rate limits before it gives up. Each form keeps the other's default, so every
 * value accepted before means what it meant, and a rate limit alone never fails a request before
 * its time budget is spent.
 *
 * @param attempts attempts of a failing request in all, at least 1
 * @param rateLimited how long one request may keep waiting on rate limits, counted from the first
 */
public record RetryBudget(int attempts, Duration rateLimited) {

  public static final int DEFAULT_ATTEMPTS = 3;
  public static final int MAX_ATTEMPTS = 100;
  public static final Duration MAX_WAIT = Duration.ofHours(24);

  private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");

  public RetryBudget {
    if (attempts < 1 || attempts > MAX_ATTEMPTS) {
      throw new IllegalArgumentException(
          "--max-retry: "
              + attempts
              + " (expected: attempts from 1 to "
              + MAX_ATTEMPTS
              + ", or a duration such as 5m)");
    }
    if (rateLimited == null || rateLimited.isNegative() || rateLimited.compareTo(MAX_WAIT) > 0) {
      throw new IllegalArgumentException(
          "--max-retry: "
              + rateLimited
              + " (expected: a duration from 0s to 24h, or a number of attempts)");
    }
  }

  /**
   * {@code N} (attempts; rate limits waited for up to {@code defaultWait}) or a duration {@code
   * N(ms|s|m|h)} (the wait; {@link #DEFAULT_ATTEMPTS} attempts).
   */
  public static RetryBudget parse(String text, Duration defaultWait) {
    String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    if (t.matches("[0-9]{1,9}")) {
      return new RetryBudget(Integer.parseInt(t), defaultWait);
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "--max-retry: '"
              + text
              + "' (expected: attempts from 1 to "
              + MAX_ATTEMPTS
              + ", or how"
              + " long to wait out rate limits, such as 90s, 5m or 1h)");
    }
    long n = Long.parseLong(m.group(1));
    Duration d =
        switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        };
    return new RetryBudget(DEFAULT_ATTEMPTS, d);
  }

  /** {@code 5m}, {@code 90s}, {@code 1500ms}: as {@link #parse} reads it. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 3_600_000 == 0 && ms > 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms > 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  @Override
  public String toString() {
    return attempts + " attempts, rate limits waited for up to " + format(rateLimited);
  }
}
