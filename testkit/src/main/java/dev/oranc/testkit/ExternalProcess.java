package dev.oranc.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An external program (the registry, later oranc's own binaries) started for a test, with stdout
 * and stderr going to one log file, and stopped by its PID.
 *
 * <p>Design note: a test JVM may die without running any cleanup ({@code kill -9}, surefire's fork
 * timeout). So that it cannot leave a registry running for ever, the program is started under a
 * tiny {@code /bin/sh} watchdog that holds the read end of a pipe whose write end only this JVM
 * holds (the process's stdin). When the JVM goes away, however it goes, the kernel closes the pipe,
 * the watchdog's {@code read} returns, and it sends SIGTERM to the program by PID. The program
 * itself gets {@code /dev/null} as stdin. Normal stops do not depend on the watchdog: {@link
 * #close()} sends SIGTERM to the program's PID, waits, then SIGKILL; a shutdown hook does the same
 * for whatever a test forgot to close.
 *
 * <p>A leak report in the log ({@link LeakCheck#verifyNoLeaksIn}) fails {@link #close()}: oranc
 * processes run with Netty's leak detector at PARANOID as the tests themselves do (the parent pom's
 * {@code ORANC_JAVA_OPTS}), and their reports are only log lines.
 */
public final class ExternalProcess implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ExternalProcess.class);

  private static final Duration STOP_GRACE = Duration.ofSeconds(5);
  private static final Duration PID_WAIT = Duration.ofSeconds(5);

  /*
   * $1 is the PID file, the rest is the command. Fd 3 keeps the JVM's pipe for the watcher (an
   * asynchronous list gets /dev/null as stdin in a non-interactive shell); the program must not
   * hold it, or it would keep the watcher blocked after the watchdog shell is gone.
   */
  private static final String WATCHDOG =
      String.join(
          "\n",
          "pidfile=$1; shift",
          "exec 3<&0",
          "\"$@\" </dev/null 3<&- &",
          "child=$!",
          "echo \"$child\" > \"$pidfile.tmp\" && mv \"$pidfile.tmp\" \"$pidfile\"",
          "{ read -r _ <&3; kill -TERM \"$child\" 2>/dev/null; } &",
          "watcher=$!",
          "exec 3<&- 0</dev/null",
          "wait \"$child\"",
          "status=$?",
          "kill \"$watcher\" 2>/dev/null",
          "exit \"$status\"");

  private static final Set<ExternalProcess> live = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (ExternalProcess p : live) {
                    if (live.remove(p)) {
                      p.stopAndRelease();
                    }
                  }
                },
                "oranc-testkit-stop-processes"));
  }

  private final String name;
  private final List<String> command;
  private final Path logFile;
  private final Process watchdog;
  private final ProcessHandle program;
  private final OutputStream lifeline;

  private ExternalProcess(
      String name, List<String> command, Path logFile, Process watchdog, ProcessHandle program) {
    this.name = name;
    this.command = List.copyOf(command);
    this.logFile = logFile;
    this.watchdog = watchdog;
    this.program = program;
    this.lifeline = watchdog.getOutputStream();
  }

  /**
   * Starts {@code command} with stdout and stderr appended to {@code logFile}.
   *
   * @param name what the process is, for messages ("registry TOKEN")
   * @param environment added to this JVM's environment
   */
  public static ExternalProcess start(
      String name, List<String> command, Path logFile, Map<String, String> environment) {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("command: [] (expected: a program and its arguments)");
    }
    Path pidDir = null;
    try {
      pidDir = Files.createTempDirectory("oranc-process-");
      Path pidFile = pidDir.resolve("pid");
      List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", WATCHDOG, "oranc-watchdog"));
      argv.add(pidFile.toString());
      argv.addAll(command);
      ProcessBuilder builder =
          new ProcessBuilder(argv)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      builder.environment().putAll(environment);
      Process watchdog = builder.start();
      ProcessHandle program = awaitPid(name, watchdog, pidFile, logFile);
      ExternalProcess p = new ExternalProcess(name, command, logFile, watchdog, program);
      live.add(p);
      log.debug("started {} (pid {}), log {}", name, program.pid(), logFile);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + String.join(" ", command), e);
    } finally {
      deleteTree(pidDir);
    }
  }

  public static ExternalProcess start(String name, List<String> command, Path logFile) {
    return start(name, command, logFile, Map.of());
  }

  /**
   * Starts {@code command} logging to a new {@code <name>.log} under the running test class's log
   * directory ({@link TestLogs}).
   */
  public static ExternalProcess start(String name, List<String> command) {
    Path logFile = TestLogs.newFile(TestLogs.dir(TestLogs.currentTestClass()), name, ".log");
    return start(name, command, logFile, Map.of());
  }

  private static ProcessHandle awaitPid(String name, Process watchdog, Path pidFile, Path logFile)
      throws IOException {
    long deadline = System.nanoTime() + PID_WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(pidFile)) {
        long pid = Long.parseLong(Files.readString(pidFile, StandardCharsets.US_ASCII).strip());
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isPresent()) {
          return handle.get();
        }
        // The program has exited already; the watchdog reports its status.
        return watchdog.toHandle();
      }
      if (!watchdog.isAlive() && !Files.exists(pidFile)) {
        throw new IllegalStateException(
            name + " could not be started (exit " + watchdog.exitValue() + "); log " + logFile);
      }
      sleep(5);
    }
    watchdog.destroyForcibly();
    throw new IllegalStateException(name + " did not start within " + PID_WAIT);
  }

  public String name() {
    return name;
  }

  public List<String> command() {
    return command;
  }

  /** The PID of the program itself (not of its watchdog). */
  public long pid() {
    return program.pid();
  }

  public boolean isAlive() {
    return program.isAlive();
  }

  /** The program's exit status once it has exited (SIGTERM gives 143). */
  public Optional<Integer> exitCode() {
    return watchdog.isAlive() ? Optional.empty() : Optional.of(watchdog.exitValue());
  }

  public Path logFile() {
    return logFile;
  }

  /** The log so far (stdout and stderr interleaved). */
  public String log() {
    try {
      return Files.readString(logFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + logFile + ": " + e.getMessage() + ")";
    }
  }

  /**
   * Waits for a log line matching {@code pattern} and returns its match. Fails early when the
   * program exits, with the log in the message.
   */
  public Matcher awaitLogLine(Pattern pattern, Duration timeout) throws TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      for (String line : log().split("\n")) {
        Matcher m = pattern.matcher(line);
        if (m.find()) {
          return m;
        }
      }
      if (!isAlive()) {
        throw new IllegalStateException(
            String.format(
                "%s exited (%s) before logging %s; its log:%n%s",
                name, exitCode().map(String::valueOf).orElse("?"), pattern, log()));
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(
            name + " did not log " + pattern + " within " + timeout + "; its log:\n" + log());
      }
      sleep(10);
    }
  }

  /**
   * SIGTERM to the program's PID, up to 5 s to exit, then SIGKILL. Idempotent. Then fails with the
   * reports if the program's log holds a Netty leak report.
   */
  @Override
  public void close() {
    if (!live.remove(this)) {
      return;
    }
    stopAndRelease();
    LeakCheck.verifyNoLeaksIn(toString(), log());
  }

  private void stopAndRelease() {
    stop(program);
    try {
      if (!watchdog.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        watchdog.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      watchdog.destroyForcibly();
    }
    try {
      lifeline.close();
    } catch (IOException e) {
      // the watchdog is gone already
    }
    log.debug("stopped {} (pid {})", name, program.pid());
  }

  private void stop(ProcessHandle handle) {
    if (!handle.isAlive()) {
      return;
    }
    handle.destroy();
    try {
      handle.onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.warn("{} (pid {}) ignored SIGTERM for {}; killing it", name, handle.pid(), STOP_GRACE);
      handle.destroyForcibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      handle.destroyForcibly();
    } catch (ExecutionException e) {
      handle.destroyForcibly();
    }
  }

  /** Closes only the watchdog's pipe, as the kernel does when this JVM dies. For tests. */
  void simulateOwnerDeath() throws IOException {
    lifeline.close();
  }

  @Override
  public String toString() {
    return name + " (pid " + program.pid() + ")";
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (var paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", root, e.toString());
    }
  }
}
