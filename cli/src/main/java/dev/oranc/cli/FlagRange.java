package dev.oranc.cli;

import dev.oranc.common.error.ConfigCheck;

/**
 * Checks of a flag's value that parsed but lies outside what the server or client takes, run when
 * the command builds its config, through {@link ConfigCheck#require} (the config builders' own
 * check): a failure reads {@code --flag: VALUE (expected: WHAT)}, an {@link
 * IllegalArgumentException} that {@link ExecutionErrors} prints as a usage error (exit 2).
 * Converters ({@link Bounded}) reject what does not parse; these ranges are in bytes or
 * milliseconds whatever unit the flag was given in.
 */
final class FlagRange {

  private FlagRange() {}

  static void bytes(String flag, long value, long min, long max) {
    ConfigCheck.require(
        value >= min && value <= max, flag, value + " bytes", "from " + min + " to " + max);
  }
}
