package dev.oranc.cli;

import dev.oranc.testkit.ExternalProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An {@code oranc server} started through the launcher as a process of its own, listening on
 * loopback and allowed to serve the test registries there (the address policy refuses loopback
 * registries unless a pattern names them) over plain HTTP. It inherits {@code ORANC_JAVA_OPTS} from
 * the build, so it runs with the tests' leak detection, and {@link #close()} ({@link
 * ExternalProcess#close()}) fails when its log reports a leak. {@link #start} returns once the
 * server says it is listening.
 */
record ServerProcess(ExternalProcess process, int port) implements AutoCloseable {

  private static final String LAUNCHER = System.getProperty("oranc.launcher", "target/oranc");
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

  /** {@code oranc-server} on a free port. */
  static ServerProcess start() throws TimeoutException {
    return start("oranc-server", "127.0.0.1:0");
  }

  /**
   * A server named {@code name} (its log file) listening on {@code listen}, with {@code extraArgs}
   * after the loopback ones.
   */
  static ServerProcess start(String name, String listen, String... extraArgs)
      throws TimeoutException {
    List<String> command =
        new ArrayList<>(
            List.of(
                LAUNCHER,
                "server",
                "-l",
                listen,
                "--insecure-registry",
                "127.0.0.1",
                "--allow-registry",
                "127.0.0.1"));
    command.addAll(List.of(extraArgs));
    ExternalProcess process = ExternalProcess.start(name, command);
    try {
      Matcher listening = process.awaitLogLine(LISTENING, Duration.ofSeconds(60));
      return new ServerProcess(process, Integer.parseInt(listening.group(1)));
    } catch (TimeoutException | RuntimeException e) {
      try {
        process.close();
      } catch (RuntimeException | Error closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
  }

  /** The binary cache URL for {@code repository} in the registry at {@code registry}. */
  String cacheUrl(String registry, String repository) {
    return "http://127.0.0.1:" + port + "/" + registry + "/" + repository;
  }

  @Override
  public void close() {
    process.close();
  }
}
