package dev.oranc.common.nix.nar;

import static org.junit.jupiter.api.Assertions.fail;

import dev.oranc.common.nix.hash.NixCli;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code nix-store --dump} and {@code --restore} of Nix 2.8, which need no store: NARs are binary,
 * so they go through files, not {@link NixCli}'s text output. Also runs {@code sh} to make what
 * Java cannot (FIFOs, names that are not UTF-8, symlinks with unnormalised targets). A missing
 * binary fails the test.
 */
final class NixNar {

  private static final long TIMEOUT_SECONDS = 300;

  private NixNar() {}

  /** The NAR {@code nix-store --dump} writes for {@code path}. */
  static byte[] dump(Path path, Path scratch) throws IOException {
    Path nar = dumpToFile(path, scratch);
    try {
      return Files.readAllBytes(nar);
    } finally {
      Files.delete(nar);
    }
  }

  /** Writes {@code nix-store --dump path} to a new file in {@code scratch}; returns the file. */
  static Path dumpToFile(Path path, Path scratch) throws IOException {
    Path nar = Files.createTempFile(scratch, "nix-dump", ".nar");
    String error =
        run(List.of(NixCli.NIX_STORE.toString(), "--dump", path.toString()), null, nar, null);
    if (error != null) {
      fail("nix-store --dump " + path + " failed:\n" + error);
    }
    return nar;
  }

  /** {@code nix-store --restore target < nar}, which must succeed. */
  static void restore(byte[] nar, Path target, Path scratch) throws IOException {
    String error = restoreError(nar, target, scratch);
    if (error != null) {
      fail("nix-store --restore failed:\n" + error);
    }
  }

  /** {@code nix-store --restore target < nar}: null if it succeeds, else its error output. */
  static String restoreError(byte[] nar, Path target, Path scratch) throws IOException {
    Path in = Files.createTempFile(scratch, "nix-restore", ".nar");
    try {
      Files.write(in, nar);
      return run(
          List.of(NixCli.NIX_STORE.toString(), "--restore", target.toString()), in, null, null);
    } finally {
      Files.delete(in);
    }
  }

  /** Runs {@code sh -c script sh args...} in {@code directory}, which must succeed. */
  static void sh(Path directory, String script, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", script, "sh"));
    command.addAll(List.of(args));
    String error = run(command, null, null, directory);
    if (error != null) {
      fail(String.join(" ", command) + " failed:\n" + error);
    }
  }

  /** Runs {@code command}; null if it succeeds, else its exit code and error output. */
  private static String run(List<String> command, Path stdin, Path stdout, Path directory)
      throws IOException {
    NixCli.require(Path.of(command.get(0)));
    Path err = Files.createTempFile("nix-nar-err", ".txt");
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectError(err.toFile());
      if (stdin != null) {
        builder.redirectInput(stdin.toFile());
      }
      builder.redirectOutput(
          stdout != null
              ? ProcessBuilder.Redirect.to(stdout.toFile())
              : ProcessBuilder.Redirect.DISCARD);
      if (directory != null) {
        builder.directory(directory.toFile());
      }
      Process process = builder.start();
      if (stdin == null) {
        process.getOutputStream().close();
      }
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        fail(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
      }
      return process.exitValue() == 0
          ? null
          : "exit " + process.exitValue() + ": " + Files.readString(err, StandardCharsets.UTF_8);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted running " + String.join(" ", command), e);
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
