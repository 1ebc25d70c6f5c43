package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ExternalProcessTest {

  private static Path newLog(String stem) {
    return TestLogs.newFile(TestLogs.dir(TestLogs.currentTestClass()), stem, ".log");
  }

  @Test
  void logsUnderTheTestClassAndStopsByPid() throws Exception {
    Path log = newLog("sleeper");
    assertEquals("ExternalProcessTest", log.getParent().getFileName().toString());
    ExternalProcess p =
        ExternalProcess.start(
            "sleeper", List.of("/bin/sh", "-c", "echo ready $$; exec sleep 60"), log);
    String pid = p.awaitLogLine(Pattern.compile("ready (\\d+)"), Duration.ofSeconds(5)).group(1);
    assertEquals(p.pid(), Long.parseLong(pid), "pid() is the program's, not the watchdog's");
    assertTrue(p.isAlive());
    p.close();
    assertFalse(p.isAlive());
    assertEquals(Optional.of(143), p.exitCode(), "SIGTERM");
    assertTrue(Files.readString(log).startsWith("ready "));
  }

  @Test
  void aLeakReportInTheLogFailsClose() throws Exception {
    ExternalProcess p =
        ExternalProcess.start(
            "leaker",
            List.of(
                "/bin/sh",
                "-c",
                "echo started; echo 'ERROR ResourceLeakDetector: LEAK: ByteBuf.release() was not"
                    + " called'; echo '#1: at Somewhere.alloc'; exec sleep 60"),
            newLog("leaker"));
    p.awaitLogLine(Pattern.compile("#1: at"), Duration.ofSeconds(5));
    AssertionError failed = assertThrows(AssertionError.class, p::close);
    assertFalse(p.isAlive(), "stopped before failing");
    assertTrue(failed.getMessage().startsWith("leaker (pid "), failed.getMessage());
    String reports = "\nERROR ResourceLeakDetector: LEAK: ByteBuf.release() was not called\n";
    assertTrue(
        failed.getMessage().contains(reports + "#1: at Somewhere.alloc\n"), failed.getMessage());
    p.close(); // idempotent: the report failed the test once
  }

  @Test
  void programDiesWhenTheOwnerGoesAway() throws Exception {
    // What the kernel does when the JVM dies: the watchdog's end of the pipe sees EOF.
    try (ExternalProcess p =
        ExternalProcess.start("orphan", List.of("/bin/sleep", "60"), newLog("orphan"))) {
      ProcessHandle program = ProcessHandle.of(p.pid()).orElseThrow();
      p.simulateOwnerDeath();
      program.onExit().get(5, TimeUnit.SECONDS);
      assertFalse(program.isAlive());
    }
  }

  @Test
  void reportsAProgramThatExitsBeforeItsLogLine() {
    try (ExternalProcess p =
        ExternalProcess.start(
            "quitter", List.of("/bin/sh", "-c", "echo bye; exit 3"), newLog("quitter"))) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () -> p.awaitLogLine(Pattern.compile("never"), Duration.ofSeconds(5)));
      assertTrue(e.getMessage().contains("bye"), e.getMessage());
    }
  }

  @Test
  void newLogFilesNeverOverwrite() {
    Path dir = TestLogs.dir("ExternalProcessTest");
    Path a = TestLogs.newFile(dir, "same", ".log");
    Path b = TestLogs.newFile(dir, "same", ".log");
    assertFalse(a.equals(b), a + " vs " + b);
  }
}
