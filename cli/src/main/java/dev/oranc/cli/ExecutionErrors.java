package dev.oranc.cli;

import dev.oranc.common.error.OrancException;
import java.io.PrintWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * A command that failed while running: one line on stderr, exit status 1. The line is the
 * exception's message, which for oranc's own errors says what went wrong and where. A stack trace
 * is shown only when debug logging was asked for.
 */
final class ExecutionErrors implements IExecutionExceptionHandler {

  static final int EXIT_FAILURE = 1;

  @Override
  public int handleExecutionException(
      Exception e, CommandLine commandLine, ParseResult parseResult) {
    PrintWriter err = commandLine.getErr();
    String name = commandLine.getCommandSpec().qualifiedName();
    if (e instanceof OrancException || e instanceof NotBuiltException) {
      err.println(name + ": " + e.getMessage());
    } else if (e instanceof IllegalArgumentException) {
      err.println(name + ": " + e.getMessage());
      err.flush();
      return UsageErrors.EXIT_USAGE;
    } else {
      err.println(
          name
              + ": internal error: "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage())
              + " (please report it; --log-level debug shows where it happened)");
      // Looked up here, not in a static field: Logging must configure Logback first.
      Logger log = LoggerFactory.getLogger(ExecutionErrors.class);
      log.debug("where the internal error happened", e);
    }
    err.flush();
    return EXIT_FAILURE;
  }
}
