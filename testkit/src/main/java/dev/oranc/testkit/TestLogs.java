package dev.oranc.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Where the logs of external processes go: {@code ${oranc.test.logdir}/<TestClass>/}. Surefire and
 * failsafe set {@code oranc.test.logdir} to {@code target/test-logs}; without it (an IDE run) the
 * same relative path is used.
 *
 * <p>Registered by service loader (JUnit extension autodetection), so it knows which test class is
 * running and helpers started without an explicit name still log under that class. That is one
 * static slot: with parallel test classes the names may be wrong, but no log is ever overwritten
 * ({@link #newFile} never reuses a name).
 */
public final class TestLogs implements BeforeAllCallback, AfterAllCallback {

  /** Used when no test class is running (a helper started from a {@code main} or a static). */
  static final String NO_TEST_CLASS = "no-test-class";

  private static volatile String currentTestClass = NO_TEST_CLASS;

  @Override
  public void beforeAll(ExtensionContext context) {
    context.getTestClass().ifPresent(c -> currentTestClass = c.getSimpleName());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    currentTestClass = NO_TEST_CLASS;
  }

  /** The simple name of the test class running now, or {@code "no-test-class"}. */
  public static String currentTestClass() {
    return currentTestClass;
  }

  /** {@code ${oranc.test.logdir}}, or {@code target/test-logs}. */
  public static Path root() {
    return Path.of(System.getProperty("oranc.test.logdir", "target/test-logs"));
  }

  /** The log directory of {@code name} (usually a test class's simple name), created if missing. */
  public static Path dir(String name) {
    Path dir = root().resolve(safeFileName(name));
    try {
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create log directory " + dir, e);
    }
  }

  /**
   * A new, empty file {@code <stem><suffix>} in {@code dir}; when that exists already (a second
   * registry in the same class, a re-run without {@code mvn clean}) {@code <stem>-2<suffix>} and so
   * on. Created atomically, so concurrent callers never share a file.
   */
  public static Path newFile(Path dir, String stem, String suffix) {
    String safeStem = safeFileName(stem);
    for (int i = 1; ; i++) {
      Path candidate = dir.resolve(i == 1 ? safeStem + suffix : safeStem + "-" + i + suffix);
      try {
        return Files.createFile(candidate);
      } catch (FileAlreadyExistsException e) {
        // try the next number
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create log file " + candidate, e);
      }
    }
  }

  static String safeFileName(String name) {
    String safe = name.replaceAll("[^A-Za-z0-9._-]", "_");
    return safe.isEmpty() || safe.startsWith(".") ? "_" + safe : safe;
  }
}
