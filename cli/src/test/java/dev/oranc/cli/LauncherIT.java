package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LeakCheck;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged launcher, cli/target/oranc, run as a user runs it. */
class LauncherIT {

  private static final Path LAUNCHER =
      Path.of(System.getProperty("oranc.launcher", "target/oranc"));

  record Run(int exit, String out, String err) {}

  static Run run(List<String> command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
    LeakCheck.verifyNoLeaksIn(String.join(" ", command), err);
    return new Run(p.exitValue(), out, err);
  }

  @Test
  void versionThroughTheLauncher() throws Exception {
    assertTrue(Files.isExecutable(LAUNCHER), LAUNCHER + " is not executable");
    Run r = run(List.of(LAUNCHER.toString(), "--version"));
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().startsWith("oranc "), r.out());
  }

  @Test
  void launcherWorksThroughASymlink(@TempDir Path dir) throws Exception {
    Path link = dir.resolve("oranc");
    Files.createSymbolicLink(link, LAUNCHER.toAbsolutePath());
    Run r = run(List.of(link.toString(), "tag", "encode", "nar/x.nar.zst"));
    assertEquals(0, r.exit(), r.err());
    assertEquals("nar_L_x.nar.zst\n", r.out());
  }

  @Test
  void errorsAreOneLineWithoutStackTrace() throws Exception {
    Run r = run(List.of(LAUNCHER.toString(), "server", "--listen", "nope"));
    assertEquals(2, r.exit());
    assertEquals(1, r.err().lines().count(), r.err());
    assertFalse(r.err().contains("\tat "), r.err());
  }

  @Test
  void bashCompletionWorksWhenSourced() throws Exception {
    String script =
        "source <('"
            + LAUNCHER
            + "' completion bash)\n"
            + "fn=$(complete -p oranc | sed -E 's/.*-F ([^ ]+) .*/\\1/')\n"
            + "COMP_WORDS=(oranc se); COMP_CWORD=1; COMP_LINE='oranc se'; COMP_POINT=8\n"
            + "$fn 2>/dev/null; echo \"${COMPREPLY[*]}\"\n"
            + "COMP_WORDS=(oranc server --tag-encoding ''); COMP_CWORD=3\n"
            + "COMP_LINE='oranc server --tag-encoding '; COMP_POINT=${#COMP_LINE}\n"
            + "$fn 2>/dev/null; echo \"${COMPREPLY[*]}\"\n"
            + "COMP_WORDS=(oranc push --repo); COMP_CWORD=2; COMP_LINE='oranc push --repo'\n"
            + "COMP_POINT=${#COMP_LINE}; $fn 2>/dev/null; echo \"${COMPREPLY[*]}\"\n";
    Run r = run(List.of("bash", "-c", script));
    assertEquals(0, r.exit(), r.err());
    List<String> lines = r.out().lines().toList();
    assertEquals("server", lines.get(0));
    assertEquals("custom base32-dnssec", lines.get(1));
    assertTrue(lines.get(2).contains("--repository"), lines.get(2));
  }
}
