package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code oranc push --no-realisations} reaches the push's options; realisations go up by default.
 */
class PushRealisationsFlagTest {

  private static PushCommand parse(String... args) {
    CommandLine commandLine = Main.newCommandLine(Map.of());
    commandLine.parseArgs(args);
    return commandLine.getSubcommands().get("push").getCommand();
  }

  @Test
  void realisationsAreOnByDefaultAndNoRealisationsTurnsThemOff() {
    assertFalse(parse("push", "--repository", "o/c").options().noRealisations());
    assertTrue(
        parse("push", "--repository", "o/c", "--no-realisations").options().noRealisations());
  }
}
