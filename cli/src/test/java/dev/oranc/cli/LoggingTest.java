package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LoggingTest {

  private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();

  @AfterEach
  void reset() {
    Logging.configure("info", null);
    context.getLogger("dev.oranc.common.registry").setLevel(null);
  }

  @Test
  void bareLevelAppliesToOranc() {
    Logging.configure(null, "debug");
    assertEquals(Level.DEBUG, context.getLogger("dev.oranc").getLevel());
  }

  @Test
  void flagWinsOverEnvironment() {
    Logging.configure("warn", "debug");
    assertEquals(Level.WARN, context.getLogger("dev.oranc").getLevel());
  }

  @Test
  void namedLoggers() {
    Logging.configure(null, "info, dev.oranc.common.registry=trace");
    assertEquals(Level.INFO, context.getLogger("dev.oranc").getLevel());
    assertEquals(Level.TRACE, context.getLogger("dev.oranc.common.registry").getLevel());
  }

  @Test
  void badEnvironmentNamesTheVariable() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Logging.configure(null, "loud"));
    assertTrue(e.getMessage().startsWith("ORANC_LOG: 'loud'"), e.getMessage());
  }
}
