package dev.oranc.cli;

/**
 * Checks of a flag's value that parsed but lies outside what the server or client takes, run when
 * the command builds its config. A failure reads {@code --flag: VALUE (expected: WHAT)}, the form
 * of the config builders' own messages, as an {@link IllegalArgumentException} that {@link
 * ExecutionErrors} prints as a usage error (exit 2). Converters ({@link Bounded}) reject what does
 * not parse; these ranges are in bytes or milliseconds whatever unit the flag was given in.
 */
final class FlagRange {

  private FlagRange() {}

  static void require(boolean ok, String flag, String value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(flag + ": " + value + " (expected: " + expected + ")");
    }
  }

  static void bytes(String flag, long value, long min, long max) {
    require(value >= min && value <= max, flag, value + " bytes", "from " + min + " to " + max);
  }
}
