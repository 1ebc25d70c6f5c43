package dev.oranc.push.input;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PushException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Input lines to store paths, in a store directory of our own (resolution needs no Nix). */
class InputPathsTest {

  @TempDir Path tmp;
  Path store;
  String a;
  String b;

  @BeforeEach
  void store() throws Exception {
    store = Files.createDirectories(tmp.resolve("store"));
    a = store.resolve("0".repeat(32) + "-a").toString();
    b = store.resolve("1".repeat(32) + "-b").toString();
    Files.createDirectories(Path.of(a, "bin"));
    Files.writeString(Path.of(b), "b");
  }

  List<String> resolve(String... lines) {
    return InputPaths.resolve(List.of(lines), store.toString(), tmp).stream()
        .map(StorePath::toString)
        .toList();
  }

  @Test
  void blankLinesAndSurroundingSpaceAreIgnoredAndRepeatsMergedInFirstOrder() {
    assertEquals(List.of(b, a), resolve("", "  " + b + "\t", a, b, "   ", a + "/"));
  }

  @Test
  void linksAreFollowedRelativeToTheirDirectoryUntilTheyReachTheStore() throws Exception {
    Files.createSymbolicLink(tmp.resolve("result"), Path.of(a));
    Files.createDirectories(tmp.resolve("deep/er"));
    Files.createSymbolicLink(tmp.resolve("deep/er/up"), Path.of("../../result"));
    Files.createSymbolicLink(tmp.resolve("chain"), Path.of("deep/er/up"));
    assertEquals(List.of(a), resolve("result", "./chain", tmp.resolve("deep/er/up").toString()));
  }

  @Test
  void aPathInsideAStorePathStandsForIt() throws Exception {
    Files.createSymbolicLink(tmp.resolve("bin-link"), Path.of(a, "bin"));
    assertEquals(List.of(a), resolve(a + "/bin", "bin-link"));
  }

  @Test
  void whatIsNotAStorePathIsOneLineNamingTheInputLine() throws Exception {
    Files.writeString(tmp.resolve("plain"), "x");
    Files.createSymbolicLink(tmp.resolve("loop1"), Path.of("loop2"));
    Files.createSymbolicLink(tmp.resolve("loop2"), Path.of("loop1"));
    Files.createSymbolicLink(tmp.resolve("dangling"), Path.of("nowhere"));
    String[][] cases = {
      {
        "plain", "line 2: 'plain' is not in the Nix store " + store + " nor a symbolic link into it"
      },
      {"missing", "line 2: 'missing' (" + tmp.resolve("missing") + ") does not exist"},
      {"dangling", "does not exist"},
      {"loop1", "more than 40 symbolic links followed (a loop?)"},
      {store + "/short", "is not a store path"},
      {store + "/" + "e".repeat(32) + "-ok", null},
    };
    for (String[] c : cases) {
      if (c[1] == null) {
        continue;
      }
      PushException.BadInput e = assertThrows(PushException.BadInput.class, () -> resolve(a, c[0]));
      assertTrue(e.getMessage().startsWith("standard input, line 2: '"), e.getMessage());
      assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
      assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
  }

  @Test
  void inputThatIsNotUtf8IsRefused() {
    byte[] bad = {'/', 'x', (byte) 0xff, '\n'};
    PushException.BadInput e =
        assertThrows(
            PushException.BadInput.class,
            () -> InputPaths.read(new ByteArrayInputStream(bad), store.toString(), tmp));
    assertEquals("standard input, line 1: is not UTF-8 text", e.getMessage());
  }

  @Test
  void readingStandardInputResolvesEveryLine() throws Exception {
    byte[] in = (a + "\n\n" + b + "\r\n").getBytes(StandardCharsets.UTF_8);
    assertEquals(
        List.of(a, b),
        InputPaths.read(new ByteArrayInputStream(in), store.toString(), tmp).stream()
            .map(StorePath::toString)
            .toList());
  }
}
