package dev.oranc.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** {@code --log-level}, accepted by every command. */
final class LogOptions {

  @Option(
      names = "--log-level",
      paramLabel = "LEVEL",
      scope = ScopeType.INHERIT,
      converter = LogLevelConverter.class,
      completionCandidates = LogLevelConverter.Names.class,
      description =
          "Log level: error, warn, info, debug or trace (default: ORANC_LOG, else info)."
              + " Logs go to stderr.")
  String logLevel;
}
