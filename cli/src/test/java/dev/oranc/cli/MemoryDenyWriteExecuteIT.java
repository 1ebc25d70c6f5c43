package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Why systemd/oranc.service leaves out {@code MemoryDenyWriteExecute=yes}: under it the JVM does
 * not start. systemd implements the setting with the kernel's {@code PR_SET_MDWE} (Linux 6.3 and
 * later; a seccomp filter of the same rule before): no mapping may be writable and executable, and
 * none may become executable. Here the same prctl is set by perl ({@code perl-base} is in every
 * Debian) before it executes the launcher, exactly as systemd does before it executes ExecStart.
 */
class MemoryDenyWriteExecuteIT {

  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final String LAUNCHER = System.getProperty("oranc.launcher", "target/oranc");

  /** prctl(PR_SET_MDWE = 65, PR_MDWE_REFUSE_EXEC_GAIN = 1) on x86-64 (SYS_prctl = 157), then exec. */
  private static final String WITH_MDWE =
      "syscall(157, 65, 1, 0, 0, 0) == 0 or do { print STDERR \"PR_SET_MDWE: $!\\n\"; exit 97 };"
          + " exec @ARGV or exit 98";

  @Test
  void theJvmCannotStartUnderMemoryDenyWriteExecuteSoTheUnitLeavesItOut() throws Exception {
    Commands.Run plain = Commands.run(List.of("perl", "-e", "exec @ARGV or exit 98", LAUNCHER, "--version"));
    assertEquals(0, plain.exit(), plain.out());
    assertTrue(plain.out().startsWith("oranc "), plain.out());

    List<String> command = new ArrayList<>(List.of("perl", "-e", WITH_MDWE, LAUNCHER, "--version"));
    Commands.Run denied = Commands.run(command);
    assertNotEquals(97, denied.exit(),
        "this kernel has no PR_SET_MDWE (Linux 6.3 or later), so the test cannot check the JVM under it:\n" + denied.out());
    assertNotEquals(0, denied.exit(), "the JVM started under MemoryDenyWriteExecute:\n" + denied.out()
        + "\nit may now be allowed: test it in systemd/oranc.service");
    assertTrue(denied.out().contains("Failed to mark memory page as executable"), denied.out());

    String unit = Files.readString(ROOT.resolve("systemd/oranc.service"));
    assertFalse(unit.lines().anyMatch(l -> l.strip().startsWith("MemoryDenyWriteExecute=")), unit);
  }
}
