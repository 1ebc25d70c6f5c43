package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code oranc push --refresh-older-than} (issue 17) reaches the push's options. */
class PushRefreshFlagTest {

  private static PushCommand parse(String... args) {
    CommandLine commandLine = Main.newCommandLine(Map.of());
    commandLine.parseArgs(args);
    return commandLine.getSubcommands().get("push").getCommand();
  }

  @Test
  void thirtyMinutesByDefaultZeroRefreshesEveryPath() {
    assertEquals(
        Duration.ofMinutes(30), parse("push", "--repository", "o/c").options().refreshOlderThan());
    assertEquals(
        Duration.ZERO,
        parse("push", "--repository", "o/c", "--refresh-older-than", "0s")
            .options()
            .refreshOlderThan());
    assertEquals(
        Duration.ofHours(2),
        parse("push", "--repository", "o/c", "--refresh-older-than", "2h")
            .options()
            .refreshOlderThan());
  }

  @Test
  void aBadDurationIsRefusedNamingTheFlag() {
    CommandLine.ParameterException e =
        assertThrows(
            CommandLine.ParameterException.class,
            () -> parse("push", "--repository", "o/c", "--refresh-older-than", "soon"));
    assertTrue(e.getMessage().contains("--refresh-older-than"), e.getMessage());
  }

  @Test
  void theHelpExplainsIt() {
    StringWriter out = new StringWriter();
    CommandLine commandLine = Main.newCommandLine(Map.of());
    commandLine.getSubcommands().get("push").usage(new PrintWriter(out));
    assertTrue(out.toString().contains("--refresh-older-than=DURATION"), out.toString());
    assertTrue(out.toString().contains("oranc gc"), out.toString());
  }
}
