package dev.oranc.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Sets log levels from {@code --log-level} and the {@code ORANC_LOG} environment variable.
 *
 * <p>{@code ORANC_LOG} is a comma-separated list of a level ({@code debug}) and/or {@code
 * logger=level} pairs ({@code info,dev.oranc.common.registry=trace}), in the spirit of {@code
 * RUST_LOG}. A bare level applies to oranc's own loggers; other libraries stay at warn unless
 * named. {@code --log-level} wins over the bare level of {@code ORANC_LOG}.
 */
final class Logging {

  static final String ENVIRONMENT_VARIABLE = "ORANC_LOG";

  private Logging() {}

  /**
   * Applies the levels; at debug and trace, exceptions are logged with their stack traces.
   *
   * @throws IllegalArgumentException when ORANC_LOG is malformed, naming the bad part
   */
  static void configure(String flagLevel, String environment) {
    String oranc = "info";
    Map<String, String> named = new LinkedHashMap<>();
    if (environment != null && !environment.isBlank()) {
      for (String part : environment.split(",")) {
        String item = part.trim();
        if (item.isEmpty()) {
          continue;
        }
        int eq = item.indexOf('=');
        if (eq < 0) {
          oranc = checkLevel(item);
        } else {
          named.put(item.substring(0, eq).trim(), checkLevel(item.substring(eq + 1).trim()));
        }
      }
    }
    if (flagLevel != null) {
      oranc = flagLevel;
    }
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    if (oranc.equals("debug") || oranc.equals("trace")) {
      showStackTraces(context);
    }
    context.getLogger("dev.oranc").setLevel(Level.toLevel(oranc));
    for (var entry : named.entrySet()) {
      context.getLogger(entry.getKey()).setLevel(Level.toLevel(entry.getValue()));
    }
    if (oranc.equals("off")) {
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.OFF);
    }
  }

  /** Swaps the stderr encoder for one that prints exceptions in full (logback.xml omits them). */
  private static void showStackTraces(LoggerContext context) {
    var appender = context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR");
    if (appender instanceof ConsoleAppender<ILoggingEvent> console
        && console.getEncoder() instanceof PatternLayoutEncoder old) {
      PatternLayoutEncoder encoder = new PatternLayoutEncoder();
      encoder.setContext(context);
      encoder.setPattern(old.getPattern().replace("%nopex", "%ex"));
      encoder.start();
      console.setEncoder(encoder);
    }
  }

  private static String checkLevel(String level) {
    String lower = level.toLowerCase(Locale.ROOT);
    if (!LogLevelConverter.LEVELS.contains(lower)) {
      throw new IllegalArgumentException(
          ENVIRONMENT_VARIABLE
              + ": '"
              + level
              + "' is not a log level (expected one of: "
              + String.join(", ", LogLevelConverter.LEVELS)
              + ", optionally as LOGGER=LEVEL)");
    }
    return lower;
  }
}
