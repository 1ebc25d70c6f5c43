package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LeakCheck;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Rust oranc's own integration scenario, with the packaged launcher: {@code push initialize};
 * build a closure; {@code nix store sign} part of it; {@code oranc push --already-signed -e '^$'};
 * {@code nix store verify} every path through {@code oranc server}; delete the paths locally;
 * substitute them back through the server with signatures required; verify the local store. The
 * closure includes a tree with names whose UTF-8 order differs from their UTF-16 order, a symlink,
 * an executable, an empty file and an empty directory.
 */
class PushThroughServerIT {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final String LAUNCHER = System.getProperty("oranc.launcher", "target/oranc");

  record Run(int exit, String out, String err) {}

  static Run oranc(Map<String, String> env, String stdin, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(LAUNCHER));
    command.addAll(Arrays.asList(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    // Leak detection (ORANC_JAVA_OPTS, from the pom) stays; other settings come from env only.
    pb.environment().keySet().removeIf(k -> k.startsWith("ORANC_") && !k.equals("ORANC_JAVA_OPTS"));
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "timed out: " + command);
    LeakCheck.verifyNoLeaksIn(String.join(" ", command), err);
    return new Run(p.exitValue(), out, err);
  }

  /** The awkward tree, made here and added with nix-store --add (a content-addressed path). */
  static Path awkwardTree(Path parent) throws IOException {
    Path dir = parent.resolve("oranc-e2e-tree-" + HexFormat.of().formatHex(randomBytes(6)));
    Files.createDirectories(dir.resolve("empty-dir"));
    Files.writeString(dir.resolve("a"), "a file");
    Files.write(dir.resolve("empty-file"), new byte[0]);
    Path exe = Files.writeString(dir.resolve("exe"), "#!/bin/sh\necho hi\n");
    Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(dir.resolve("link"), Path.of("a"));
    Files.writeString(
        dir.resolve("\uFB01"), "fi ligature: after U+1F600 in UTF-16, before it in UTF-8");
    Files.writeString(dir.resolve("\uD83D\uDE00"), "grinning face");
    Files.createDirectories(dir.resolve("\u00E9"));
    Files.writeString(dir.resolve("\u00E9").resolve("\u00FC"), "nested");
    return dir;
  }

  static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    ThreadLocalRandom.current().nextBytes(b);
    return b;
  }

  static List<String> lines(String s) {
    return s.lines().filter(l -> !l.isBlank()).toList();
  }

  @Test
  void pushedPathsVerifyAndSubstituteBackThroughTheServer(@TempDir Path tmp) throws Exception {
    Registry registry = registries.get();
    String repo = "e2e/cache";
    Nix.KeyPair key = Nix.generateKey("oranc-e2e-1");
    Path keyFile = Files.writeString(tmp.resolve("key.sec"), key.secret());
    Map<String, String> env = new HashMap<>(Map.of("ORANC_SIGNING_KEY", key.secret()));
    String tree = null;
    try (Nix nix = new Nix();
        ServerProcess server = ServerProcess.start()) {
      String cache = server.cacheUrl(registry.address(), repo);

      Run init =
          oranc(
              env,
              "",
              "push",
              "--registry",
              registry.address(),
              "--repository",
              repo,
              "--no-ssl",
              "initialize");
      assertEquals(0, init.exit(), init.err());

      tree = Nix.run("nix-store", "--add", awkwardTree(tmp).toString()).strip();
      Nix.StorePathInfo dep = nix.build("oranc-e2e-dep", "a dependency");
      Nix.StorePathInfo top = nix.buildTree("oranc-e2e-top", "the top", List.of(dep.path(), tree));
      List<String> closure = lines(Nix.run("nix-store", "-qR", top.path()));
      assertEquals(3, closure.size(), closure.toString());
      Nix.run("nix", "store", "sign", "--key-file", keyFile.toString(), dep.path());

      Run push =
          oranc(
              env,
              "./result-does-not-matter\n".replace("./result-does-not-matter", top.path()),
              "push",
              "--registry",
              registry.address(),
              "--repository",
              repo,
              "--no-ssl",
              "--already-signed",
              "-e",
              "^$");
      assertEquals(0, push.exit(), push.err());
      assertTrue(push.err().contains("pushed 3 paths"), push.err());

      Nix.Result verified =
          Nix.exec(
              null,
              Duration.ofMinutes(2),
              List.of(
                  "nix",
                  "store",
                  "verify",
                  "--store",
                  cache,
                  "--option",
                  "trusted-public-keys",
                  key.publicKey(),
                  "-r",
                  top.path()));
      assertTrue(verified.succeeded(), verified.stderr());

      // Gone from the store (with the derivations, which name their inputs), then back from the
      // cache with signatures required (Nix's default).
      List<String> built = new ArrayList<>(nix.builtPaths());
      Collections.reverse(built);
      built.add(tree);
      List<String> delete = new ArrayList<>(List.of("nix-store", "--delete"));
      delete.addAll(built);
      Nix.Result deleted = Nix.exec(null, Duration.ofMinutes(1), delete);
      assertTrue(deleted.succeeded(), deleted.stderr());
      for (String p : closure) {
        assertFalse(Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS), p);
      }
      Nix.Result substituted =
          Nix.exec(
              null,
              Duration.ofMinutes(2),
              List.of(
                  "nix-store",
                  "--realise",
                  top.path(),
                  "--option",
                  "substituters",
                  cache,
                  "--option",
                  "trusted-public-keys",
                  key.publicKey()));
      assertTrue(substituted.succeeded(), substituted.stderr());
      for (String p : closure) {
        assertTrue(Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS), p);
      }
      Nix.Result local =
          Nix.exec(
              null,
              Duration.ofMinutes(2),
              List.of(
                  "nix",
                  "store",
                  "verify",
                  "-r",
                  "--sigs-needed",
                  "1",
                  "--option",
                  "trusted-public-keys",
                  key.publicKey(),
                  top.path()));
      assertTrue(local.succeeded(), local.stderr());
      assertEquals("nested", Files.readString(Path.of(tree, "\u00E9", "\u00FC")));
      assertTrue(Files.isExecutable(Path.of(tree, "exe")));
      assertEquals(Path.of("a"), Files.readSymbolicLink(Path.of(tree, "link")));
      assertTrue(Files.isDirectory(Path.of(tree, "empty-dir")));
    } finally {
      if (tree != null && Files.exists(Path.of(tree))) {
        Nix.exec(null, Duration.ofMinutes(1), List.of("nix-store", "--delete", tree));
      }
    }
  }

  @Test
  void aMissingSigningKeyIsOneLineAndExit1() throws Exception {
    String path = "/nix/store/" + "0".repeat(32) + "-anything"; // the key is checked first
    Run r =
        oranc(
            Map.of(),
            path + "\n",
            "push",
            "--registry",
            registries.get().address(),
            "--repository",
            "e2e/nokey",
            "--no-ssl");
    assertEquals(1, r.exit(), r.err());
    assertEquals(
        List.of(
            "oranc push: ORANC_SIGNING_KEY is not set: it must hold the Nix secret key that signs"
                + " the pushed paths, as 'nix key generate-secret --key-name NAME' prints it"
                + " (name:base64)"),
        lines(r.err()));
  }

  @Test
  void failedPathsAreListedAndTheExitStatusIs1() throws Exception {
    Nix.KeyPair key = Nix.generateKey("oranc-e2e-2");
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo p = nix.build("oranc-e2e-unreachable", "x");
      // Nothing listens on port 1: every look-up fails, after one attempt.
      Run r =
          oranc(
              Map.of("ORANC_SIGNING_KEY", key.secret()),
              p.path() + "\n",
              "push",
              "--registry",
              "127.0.0.1:1",
              "--repository",
              "e2e/down",
              "--no-ssl",
              "-m",
              "1");
      assertEquals(1, r.exit(), r.err());
      assertTrue(
          r.err().contains("failed: " + p.path() + ": cannot look it up in the registry"), r.err());
      assertTrue(
          r.err().contains("oranc push: 1 of 1 paths were not pushed (listed above)"), r.err());
    }
  }
}
