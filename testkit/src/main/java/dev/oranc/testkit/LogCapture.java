package dev.oranc.testkit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Log lines caught in memory while a test runs (logback, the tests' binding): attached to named
 * loggers ({@link #of}) or to the root with every logger at TRACE ({@link #everythingAtTrace}), for
 * tests that read what was logged (a warning given once, no secret at any level, the access log's
 * fields). {@link #close} detaches it and puts back the levels it changed.
 */
public final class LogCapture implements AutoCloseable {

  private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final List<Logger> loggers = new ArrayList<>();
  private final Map<Logger, Level> levelsBefore = new HashMap<>();

  private LogCapture() {
    appender.setContext(context);
    appender.start();
  }

  /** Catches what the loggers named (and their children) log, at their configured levels. */
  public static LogCapture of(String... loggerNames) {
    LogCapture c = new LogCapture();
    for (String name : loggerNames) {
      c.attach(c.context.getLogger(name));
    }
    return c;
  }

  /** Catches everything, with the root and every logger that has a level set to TRACE. */
  public static LogCapture everythingAtTrace() {
    LogCapture c = new LogCapture();
    Logger root = c.context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    for (Logger l : c.context.getLoggerList()) {
      if (l == root || l.getLevel() != null) {
        c.levelsBefore.put(l, l.getLevel());
        l.setLevel(Level.TRACE);
      }
    }
    c.attach(root);
    return c;
  }

  private void attach(Logger logger) {
    loggers.add(logger);
    logger.addAppender(appender);
  }

  /** What was caught so far (a copy), oldest first. */
  public List<ILoggingEvent> events() {
    synchronized (appender) {
      return List.copyOf(appender.list);
    }
  }

  /** The formatted messages caught so far, oldest first. */
  public List<String> messages() {
    return events().stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  /** The formatted messages of {@code loggerName}'s events at {@code level}. */
  public List<String> messages(String loggerName, Level level) {
    return events().stream()
        .filter(e -> e.getLoggerName().equals(loggerName) && e.getLevel() == level)
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  /** Forgets what was caught so far. */
  public void clear() {
    synchronized (appender) {
      appender.list.clear();
    }
  }

  /** An event's message and every throwable in its cause chain (class and message). */
  public static String text(ILoggingEvent e) {
    StringBuilder sb = new StringBuilder(e.getFormattedMessage()).append(' ');
    for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
      sb.append(t.getClassName()).append(": ").append(t.getMessage()).append(' ');
    }
    return sb.toString();
  }

  @Override
  public void close() {
    for (Logger l : loggers) {
      l.detachAppender(appender);
    }
    levelsBefore.forEach(Logger::setLevel);
    appender.stop();
  }
}
