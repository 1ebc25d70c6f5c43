package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.tag.TagEncoding;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

class CliTest {

  record Result(int exit, String out, String err) {}

  static Result run(String... args) {
    CommandLine commandLine = Main.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    commandLine.setOut(new PrintWriter(out));
    commandLine.setErr(new PrintWriter(err));
    int exit = commandLine.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  @Test
  void version() {
    Result r = run("--version");
    assertEquals(0, r.exit());
    assertTrue(r.out().matches("oranc \\d+\\.\\d+\\.\\d+.*\\R"), r.out());
  }

  @Test
  void tagEncodeOfTheSeedExample() {
    Result r =
        run(
            "tag",
            "encode",
            "realisations/sha256:67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1!libgcc.doi");
    assertEquals(0, r.exit(), r.err());
    assertEquals(
        "realisations_L_sha256_W_67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1_x_libgcc.doi\n",
        r.out());
  }

  @Test
  void tagEncodeWithFallbacksPrintsOneLinePerEncoding() {
    Result r = run("tag", "encode", "a b", "--fallbacks", "--fallback-encodings", "base32-dnssec");
    assertEquals(List.of("a_w_b", "c4g64"), r.out().lines().toList());
  }

  @Test
  void tagEncodeWithoutFallbacksFlagPrintsOnlyTheMainTag() {
    Result r = run("tag", "encode", "a b", "--fallback-encodings", "base32-dnssec");
    assertEquals(List.of("a_w_b"), r.out().lines().toList());
  }

  @Test
  void tagDecodeTriesFallbacks() {
    Result r =
        run(
            "tag",
            "decode",
            "a_w_b",
            "--tag-encoding",
            "base32-dnssec",
            "--fallback-encodings",
            "custom");
    assertEquals(0, r.exit(), r.err());
    assertEquals("a b\n", r.out());
  }

  /** The known answer of TagCodecTest: sha256sum of the 248-character key. */
  private static final String LONG_LOG_KEY =
      "log/0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5-" + "a".repeat(207) + ".drv";

  private static final String LONG_LOG_TAG =
      "_0sha256-da1dc3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545f";

  @Test
  void tagEncodeOfAKeyTooLongForATagPrintsItsHashedTag() {
    Result r = run("tag", "encode", LONG_LOG_KEY);
    assertEquals(0, r.exit(), r.err());
    assertEquals(LONG_LOG_TAG + "\n", r.out());
    assertOneLine(r.err());
    assertTrue(r.err().contains("hashed tag"), r.err());

    // The hashed tag does not depend on the encoding.
    r = run("tag", "encode", LONG_LOG_KEY, "--fallbacks", "--fallback-encodings", "base32-dnssec");
    assertEquals(List.of(LONG_LOG_TAG, LONG_LOG_TAG), r.out().lines().toList());
    // A short key says nothing on stderr.
    r = run("tag", "encode", "nix-cache-info");
    assertEquals("", r.err());
  }

  @Test
  void tagDecodeOfAHashedTagSaysTheKeyIsInTheManifest() {
    Result r = run("tag", "decode", LONG_LOG_TAG);
    assertEquals(3, r.exit(), r.err());
    assertEquals("", r.out());
    assertOneLine(r.err());
    assertTrue(r.err().contains("hashed tag"), r.err());
    assertTrue(r.err().contains("com.linyinfeng.oranc.key"), r.err());
    assertTrue(r.err().contains(LONG_LOG_TAG), r.err());
    assertTrue(
        run("tag", "decode", "--help").out().contains("3   a hashed tag"),
        run("tag", "decode", "--help").out());
  }

  @Test
  void tagDecodeOfMalformedTagNamesThePosition() {
    Result r = run("tag", "decode", "abc_L");
    assertEquals(1, r.exit());
    assertOneLine(r.err());
    assertTrue(r.err().contains("character 4"), r.err());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "server --bogus                         | --bogus       | --listen",
        "server --tag-encoding base64           | --tag-encoding | custom, base32-dnssec",
        "server --fallback-encodings nope       | --fallback-encodings | custom, base32-dnssec",
        "server -l nohost                       | --listen      | ADDRESS:PORT",
        "server -l 127.0.0.1:70000              | --listen      | 0 to 65535",
        "server -r 0                            | --repository-parts | from 1",
        "server -m x                            | --max-retry   | from 1",
        "server -u ftp://x                      | --upstream    | http(s) URL",
        "server -i [                            | --ignore-upstream | regular expression",
        "push                                   | --repository  | NAME",
        "push --repository Owner/Cache          | --repository  | lowercase",
        "push --repository a/b --registry https://x | --registry | HOST[:PORT]",
        "push --repository a/b -z 99            | --zstd-level  | -7 to 22",
        "push --repository a/b -p 0             | --parallel    | from 1",
        "push --repository a/b initialize -p x  | --priority    | from 0",
        "gc --repository a/b --grace soon       | --grace       | 90m",
        "gc --repository a/b --keep-days -1     | --keep-days   | from 0",
        "gc --repository a/b --undated maybe    | --undated     | keep",
        "gc --repository a/b --backend github --github-api http://127.0.0.1:1 | --github-api |"
            + " https",
        "check --repository a/b --trusted-public-key x | --trusted-public-key | public key",
        "completion tcsh                        | SHELL         | bash, zsh, fish",
        "--log-level loud tag encode x          | --log-level   | error, warn, info, debug, trace",
      })
  void badFlagsGiveOneLineNamingTheFlagAndExit2(String args, String flag, String accepted) {
    Result r = run(args.trim().split(" +"));
    assertEquals(2, r.exit(), r.err());
    assertOneLine(r.err());
    assertTrue(r.err().contains(flag), r.err());
    assertTrue(r.err().contains(accepted), r.err());
    assertTrue(r.err().contains("--help"), r.err());
  }

  @Test
  void misspelledCommandGetsASuggestion() {
    Result r = run("serve");
    assertEquals(2, r.exit());
    assertOneLine(r.err());
    assertTrue(r.err().contains("did you mean server"), r.err());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "server",
        "push",
        "push initialize",
        "tag",
        "tag encode",
        "tag decode",
        "completion",
        "pin",
        "pin add",
        "pin list",
        "pin remove",
        "gc",
        "check"
      })
  void everyCommandHasHelpExplainingEveryFlag(String command) {
    String[] path = command.isEmpty() ? new String[0] : command.split(" ");
    String[] args = Stream.concat(Arrays.stream(path), Stream.of("--help")).toArray(String[]::new);
    Result r = run(args);
    assertEquals(0, r.exit(), r.err());
    CommandSpec spec = Main.newCommandLine().getCommandSpec();
    for (String word : path) {
      spec = spec.subcommands().get(word).getCommandSpec();
    }
    for (OptionSpec option : spec.options()) {
      assertTrue(r.out().contains(option.longestName()), option.longestName() + " in\n" + r.out());
      String description = String.join(" ", option.description());
      assertFalse(description.isBlank(), option.longestName() + " has no description");
      if (option.defaultValue() != null) {
        assertTrue(
            description.contains("Default: " + option.defaultValue()),
            option.longestName() + " has a default the help does not show: " + description);
      }
    }
  }

  /** The flags, short forms and defaults of SPEC §3/§4 and the Rust tool. */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      nullValues = "null",
      value = {
        "server | -l | --listen                       | [::]:8080",
        "server | -r | --repository-parts             | 2",
        "server | -m | --max-retry                    | 3",
        "server |    | --no-ssl                       | null",
        "server | -u | --upstream                     | null",
        "server | -i | --ignore-upstream              | nix-cache-info",
        "server |    | --upstream-anonymous           | null",
        "server |    | --tag-encoding                 | custom",
        "server |    | --fallback-encodings           | null",
        "push   |    | --registry                     | ghcr.io",
        "push   |    | --repository                   | null",
        "push   |    | --no-closure                   | null",
        "push   |    | --store-dir                    | /nix/store",
        "push   | -e | --excluded-signing-key-pattern | ^cache\\.nixos\\.org-.*$",
        "push   |    | --already-signed               | null",
        "push   | -p | --parallel                     | 4",
        "push   | -z | --zstd-level                   | 3",
        "push   | -m | --max-retry                    | 3",
        "push   |    | --dry-run                      | null",
        "push   |    | --allow-immutable-db           | null",
        "push   |    | --no-ssl                       | null",
        "push   |    | --tag-encoding                 | custom",
        "push   |    | --fallback-encodings           | null",
        "push initialize | -p | --priority            | 41",
        "push initialize | -n | --no-mass-query       | null",
        "push   |    | --pin                          | null",
        "gc     |    | --keep-days                    | 30",
        "gc     |    | --grace                        | 1h",
        "gc     |    | --undated                      | keep",
        "gc     |    | --dry-run                      | null",
        "gc     | -p | --parallel                     | 8",
        "gc     |    | --max-deletes-per-minute       | 60",
        "gc     |    | --json                         | null",
        "gc     |    | --backend                      | auto",
        "gc     |    | --github-api                   | https://api.github.com",
        "gc     | -m | --max-retry                    | 3",
        "gc     |    | --no-ssl                       | null",
        "check  |    | --trusted-public-key           | null",
        "pin add |   | --repository                   | null",
        "pin remove | | --registry                    | ghcr.io",
        "tag encode |  | --fallbacks                  | null",
        "tag encode |  | --tag-encoding               | custom",
        "tag decode |  | --fallback-encodings         | null",
      })
  void flagsMatchTheRustTool(
      String command, String shortName, String longName, String defaultValue) {
    CommandSpec spec = Main.newCommandLine().getCommandSpec();
    for (String word : command.split(" ")) {
      spec = spec.subcommands().get(word).getCommandSpec();
    }
    OptionSpec option = spec.findOption(longName);
    assertNotNull(option, command + " " + longName);
    if (shortName != null) {
      assertTrue(
          List.of(option.names()).contains(shortName), command + " " + longName + " " + shortName);
    } else {
      assertEquals(1, option.names().length, command + " " + longName + " has no short form");
    }
    assertEquals(defaultValue, option.defaultValue(), command + " " + longName);
  }

  @Test
  void fallbackEncodingsIsRepeatable() {
    CommandLine commandLine = Main.newCommandLine();
    commandLine.parseArgs(
        "server", "--fallback-encodings", "base32-dnssec", "--fallback-encodings", "custom");
    ServerCommand server = commandLine.getSubcommands().get("server").getCommand();
    assertEquals(
        List.of(TagEncoding.BASE32_DNSSEC, TagEncoding.CUSTOM), server.encoding.fallbackEncodings);
  }

  @Test
  void listenAcceptsIpv6AndIpv4() {
    CommandLine commandLine = Main.newCommandLine();
    commandLine.parseArgs("server", "-l", "[::1]:9000");
    ServerCommand server = commandLine.getSubcommands().get("server").getCommand();
    assertEquals("::1", server.listen.getHostString());
    assertEquals(9000, server.listen.getPort());
  }

  @ParameterizedTest
  @ValueSource(strings = {"bash", "zsh", "fish"})
  void completionScripts(String shell) {
    Result r = run("completion", shell);
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("server"), r.out());
    assertTrue(r.out().contains("--repository-parts") || r.out().contains("repository-parts"));
  }

  @Test
  void aCommandIsRequired() {
    Result r = run();
    assertEquals(2, r.exit());
    assertOneLine(r.err());
  }

  static void assertOneLine(String err) {
    assertEquals(1, err.lines().count(), "expected exactly one line, got:\n" + err);
    assertFalse(err.contains("\tat "), "stack trace in:\n" + err);
  }
}
