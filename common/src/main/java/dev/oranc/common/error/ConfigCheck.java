package dev.oranc.common.error;

import java.time.Duration;

/**
 * Checks of settings at startup, each failing with one line that names the setting, the value given
 * and what was expected: {@code threads: -1 (expected: 0 (one per core) or more)}, the form of
 * Armeria's {@code value: X (expected: ...)}. The CLI prints the line as it is.
 */
public final class ConfigCheck {

  private ConfigCheck() {}

  /**
   * @throws IllegalArgumentException naming {@code what}, {@code value} and {@code expected}
   */
  public static void require(boolean ok, String what, long value, String expected) {
    require(ok, what, Long.toString(value), expected);
  }

  /**
   * As above, with the value as the user gave it or with its unit ({@code 70000 bytes}).
   *
   * @throws IllegalArgumentException naming {@code what}, {@code value} and {@code expected}
   */
  public static void require(boolean ok, String what, String value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(what + ": " + value + " (expected: " + expected + ")");
    }
  }

  /** {@code d}, when it is longer than zero. */
  public static Duration requirePositive(Duration d, String what) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: a positive duration)");
    }
    return d;
  }

  /** {@code d}, when it is zero or longer. */
  public static Duration requireNonNegative(Duration d, String what) {
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: 0 or more)");
    }
    return d;
  }
}
