package dev.oranc.cli;

/** A command whose implementation has not landed in this build yet. */
final class NotBuiltException extends RuntimeException {
  NotBuiltException(String command, int issue) {
    super(
        "'oranc "
            + command
            + "' is not implemented in this build yet (tracked in issue "
            + issue
            + "); its flags are parsed and checked.");
  }
}
