package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.proxy.ServerConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code --no-prefetch}, {@code --prefetch-concurrency}, {@code --prefetch-queue}. */
class PrefetchFlagsTest {

  private static ServerCommand parse(String... args) {
    CommandLine commandLine = Main.newCommandLine(Map.of());
    commandLine.parseArgs(args);
    return commandLine.getSubcommands().get("server").getCommand();
  }

  @Test
  void prefetchIsOnByDefaultWithTheServersBounds() {
    ServerConfig flags = parse("server").config();
    ServerConfig built = ServerConfig.builder().build();
    assertEquals(built.prefetchConcurrency(), flags.prefetchConcurrency());
    assertEquals(built.prefetchQueue(), flags.prefetchQueue());
    assertTrue(flags.prefetchConcurrency() > 0, "on by default");
  }

  @Test
  void noPrefetchTurnsItOffAndTheBoundsReachTheServer() {
    assertEquals(0, parse("server", "--no-prefetch").config().prefetchConcurrency());
    ServerConfig c =
        parse("server", "--prefetch-concurrency", "4", "--prefetch-queue", "10").config();
    assertEquals(4, c.prefetchConcurrency());
    assertEquals(10, c.prefetchQueue());
  }

  @Test
  void outOfRangeBoundsAreRefused() {
    for (String bad : new String[] {"0", "1025", "-1", "lots"}) {
      assertThrows(
          CommandLine.ParameterException.class,
          () -> parse("server", "--prefetch-concurrency", bad),
          bad);
    }
    assertThrows(
        CommandLine.ParameterException.class, () -> parse("server", "--prefetch-queue", "-1"));
  }

  @Test
  void theHelpSaysWhatPrefetchDoes() {
    String help = Main.newCommandLine(Map.of()).getSubcommands().get("server").getUsageMessage();
    assertTrue(help.contains("--no-prefetch") && help.contains("References"), help);
    assertTrue(help.contains("--prefetch-queue"), help);
  }
}
