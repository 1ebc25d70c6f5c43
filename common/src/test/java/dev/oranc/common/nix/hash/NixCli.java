package dev.oranc.common.nix.hash;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real Nix 2.8 CLI for cross-checks. A missing binary fails the test (it is installed on
 * every machine these tests run on); nothing here skips.
 */
public final class NixCli {

  public static final Path NIX = Path.of("/usr/bin/nix");
  public static final Path NIX_STORE = Path.of("/usr/bin/nix-store");
  public static final Path NIX_BUILD = Path.of("/usr/bin/nix-build");

  /**
   * Keeps Nix off the network (no substituter is asked about our throwaway paths) and lets root
   * build without the {@code nixbld} group and sandbox, which Debian's nix-bin does not set up: our
   * builders run {@code /bin/sh} from the host.
   */
  private static final List<String> OFFLINE =
      List.of(
          "--option",
          "substituters",
          "",
          "--option",
          "sandbox",
          "false",
          "--option",
          "build-users-group",
          "");

  private static final long TIMEOUT_SECONDS = 120;

  private NixCli() {}

  public record Result(int exitCode, String stdout, String stderr) {}

  /** Fails unless {@code tool} is an executable file. */
  public static void require(Path tool) {
    assertTrue(
        Files.isExecutable(tool),
        tool + " is missing: these tests cross-check against the real Nix 2.8 CLI, install it");
  }

  /** {@code nix --extra-experimental-features nix-command ARGS}, which must succeed; its stdout. */
  public static String nix(String... args) {
    return nixWithInput(null, args);
  }

  public static String nixWithInput(String stdin, String... args) {
    return succeed(nixResult(stdin, args), args);
  }

  public static Result nixResult(String stdin, String... args) {
    List<String> command = new ArrayList<>();
    command.add(NIX.toString());
    command.add("--extra-experimental-features");
    command.add("nix-command");
    command.addAll(OFFLINE);
    command.addAll(List.of(args));
    return run(stdin, command);
  }

  /** {@code nix-store ARGS}, which must succeed; its stdout. */
  public static String nixStore(String... args) {
    List<String> command = new ArrayList<>(List.of(NIX_STORE.toString()));
    command.addAll(OFFLINE);
    command.addAll(List.of(args));
    return succeed(run(null, command), args);
  }

  /** {@code nix-build ARGS}, which must succeed; its stdout. */
  public static String nixBuild(String... args) {
    List<String> command = new ArrayList<>(List.of(NIX_BUILD.toString()));
    command.addAll(OFFLINE);
    command.addAll(List.of(args));
    return succeed(run(null, command), args);
  }

  private static String succeed(Result r, String... args) {
    if (r.exitCode() != 0) {
      fail(
          "Nix failed (exit "
              + r.exitCode()
              + ") for "
              + String.join(" ", args)
              + ":\n"
              + r.stderr());
    }
    return r.stdout();
  }

  public static Result run(String stdin, List<String> command) {
    require(Path.of(command.get(0)));
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("nix-out", ".txt");
      err = Files.createTempFile("nix-err", ".txt");
      Process p =
          new ProcessBuilder(command)
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      try (OutputStream in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
      }
      return new Result(
          p.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("cannot run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted running " + String.join(" ", command), e);
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  private static void deleteQuietly(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        // a leftover temp file is harmless
      }
    }
  }
}
