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
 *
 * <p>Debian 12's own kernel (6.1) has no {@code PR_SET_MDWE}, and the suite must pass there too
 * without skipping. So the JVM is tried under both forms systemd uses: its seccomp filter (what it
 * does on kernels before 6.3, and works on every kernel) always, and the prctl where the kernel has
 * it ({@code PR_GET_MDWE} answers); where it has not, the kernel must refuse the prctl as an option
 * it does not know ({@code EINVAL}, not some other error that would hide a broken probe).
 */
class MemoryDenyWriteExecuteIT {

  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final String LAUNCHER = System.getProperty("oranc.launcher", "target/oranc");

  /**
   * prctl(PR_SET_MDWE = 65, PR_MDWE_REFUSE_EXEC_GAIN = 1) on x86-64 (SYS_prctl = 157), then exec.
   */
  private static final String WITH_MDWE =
      "syscall(157, 65, 1, 0, 0, 0) == 0"
          + " or do { print STDERR \"PR_SET_MDWE: $! (errno \", $! + 0, \")\\n\"; exit 97 };"
          + " exec @ARGV or exit 98";

  /** prctl(PR_GET_MDWE = 66): prints "mdwe" on a kernel that knows it, else "errno N". */
  private static final String PROBE =
      "syscall(157, 66, 0, 0, 0, 0) >= 0 ? print \"mdwe\\n\" : print \"errno \", $! + 0, \"\\n\"";

  /**
   * systemd's other form of the setting (seccomp_memory_deny_write_execute(), x86-64): a seccomp
   * filter answering EPERM to mmap of memory both writable and executable, and to mprotect,
   * pkey_mprotect and shmat asking for execute; set by perl after PR_SET_NO_NEW_PRIVS, then exec.
   * Instructions are {code, jt, jf, k}; seccomp_data has the arch at 4, the number at 0, the low
   * half of the third argument at 32.
   */
  private static final String SECCOMP_MDWE =
      """
      my $allow = 0x7fff0000; my $eperm = 0x50001; my $arg2 = 32;
      my @f = ([0x20, 0, 0, 4], [0x15, 1, 0, 0xc000003e], [0x06, 0, 0, $allow],
        [0x20, 0, 0, 0], [0x15, 4, 0, 9], [0x15, 6, 0, 10], [0x15, 5, 0, 329], [0x15, 6, 0, 30],
        [0x06, 0, 0, $allow],
        [0x20, 0, 0, $arg2], [0x54, 0, 0, 6], [0x15, 4, 5, 6],
        [0x20, 0, 0, $arg2], [0x45, 2, 3, 4],
        [0x20, 0, 0, $arg2], [0x45, 0, 1, 0x8000],
        [0x06, 0, 0, $eperm], [0x06, 0, 0, $allow]);
      my $filter = join "", map { pack "SCCL", @$_ } @f;
      my $prog = pack "S x6 Q", scalar(@f), unpack("Q", pack("p", $filter));
      syscall(157, 38, 1, 0, 0, 0) == 0 or do { print STDERR "no_new_privs: $!\\n"; exit 96 };
      syscall(317, 1, 0, $prog) == 0 or do { print STDERR "seccomp: $!\\n"; exit 96 };
      exec @ARGV or exit 98;
      """;

  /** EINVAL: what prctl answers for an option this kernel does not have. */
  private static final String EINVAL = "errno 22";

  @Test
  void theJvmCannotStartUnderMemoryDenyWriteExecuteSoTheUnitLeavesItOut() throws Exception {
    Commands.Run plain =
        Commands.run(List.of("perl", "-e", "exec @ARGV or exit 98", LAUNCHER, "--version"));
    assertEquals(0, plain.exit(), plain.out());
    assertTrue(plain.out().startsWith("oranc "), plain.out());

    // The seccomp form, on every kernel: the JVM cannot start under it; a program that needs no
    // memory both writable and executable can (the filter refuses only that).
    Commands.Run filtered =
        Commands.run(List.of("perl", "-e", SECCOMP_MDWE, LAUNCHER, "--version"));
    assertNotEquals(96, filtered.exit(), "the seccomp filter was refused:\n" + filtered.out());
    assertNotEquals(
        0,
        filtered.exit(),
        "the JVM started under the seccomp filter:\n"
            + filtered.out()
            + "\nit may now be allowed: test it in systemd/oranc.service");
    assertTrue(filtered.out().contains("Failed to mark memory page as executable"), filtered.out());
    Commands.Run shell =
        Commands.run(List.of("perl", "-e", SECCOMP_MDWE, "/bin/sh", "-c", "echo fine"));
    assertEquals(new Commands.Run(0, "fine\n"), shell);

    Commands.Run probe = Commands.run(List.of("perl", "-e", PROBE));
    assertEquals(0, probe.exit(), probe.out());
    String kernel = probe.out().strip();
    assertTrue(
        kernel.equals("mdwe") || kernel.equals(EINVAL),
        "PR_GET_MDWE answered neither a value nor EINVAL: " + kernel);

    List<String> command = new ArrayList<>(List.of("perl", "-e", WITH_MDWE, LAUNCHER, "--version"));
    Commands.Run denied = Commands.run(command);
    if (kernel.equals("mdwe")) {
      assertNotEquals(97, denied.exit(), "PR_SET_MDWE refused:\n" + denied.out());
      assertNotEquals(
          0,
          denied.exit(),
          "the JVM started under MemoryDenyWriteExecute:\n"
              + denied.out()
              + "\nit may now be allowed: test it in systemd/oranc.service");
      assertTrue(denied.out().contains("Failed to mark memory page as executable"), denied.out());
    } else {
      // Linux before 6.3 (Debian 12's 6.1): the option is unknown, so perl stops before the exec.
      assertEquals(97, denied.exit(), denied.out());
      assertTrue(denied.out().contains("(" + EINVAL + ")"), denied.out());
    }

    String unit = Files.readString(ROOT.resolve("systemd/oranc.service"));
    assertFalse(unit.lines().anyMatch(l -> l.strip().startsWith("MemoryDenyWriteExecute=")), unit);
  }
}
