package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LeakCheck;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command to its end for the integration tests: exit status and merged output. */
final class Commands {

  private Commands() {}

  record Run(int exit, String out) {}

  /** Runs {@code command} in {@code directory} (null: this JVM's), stdin closed, within 120 s. */
  static Run run(Path directory, List<String> command) throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    if (directory != null) {
      builder.directory(directory.toFile());
    }
    Process p = builder.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
    LeakCheck.verifyNoLeaksIn(String.join(" ", command), out);
    return new Run(p.exitValue(), out);
  }

  static Run run(List<String> command) throws IOException, InterruptedException {
    return run(null, command);
  }
}
