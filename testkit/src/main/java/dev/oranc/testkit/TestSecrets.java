package dev.oranc.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Secrets the harness makes while tests run — bearer tokens the token service issues, Nix signing
 * keys it generates — written to {@code target/test-secrets.txt} (beside {@code target/test-logs},
 * never inside what is scanned), so that {@code scripts/check-secrets} can look for each of them in
 * everything the test run captured. Fixed secrets (the registry's passwords, the signing key of the
 * vectors, test constants named {@code *SECRET*} or {@code *PASSWORD*}) are read from the sources
 * by the script itself.
 */
public final class TestSecrets {

  private static final Set<String> recorded = ConcurrentHashMap.newKeySet();

  private TestSecrets() {}

  /** Where this JVM's secrets go: {@code test-secrets.txt} next to {@link TestLogs#root()}. */
  public static Path file() {
    Path logs = TestLogs.root().toAbsolutePath();
    return logs.resolveSibling("test-secrets.txt");
  }

  /** Remembers {@code secret} (one line) for the scan at the end of the test run. */
  public static void record(String secret) {
    if (secret == null || secret.isBlank() || secret.indexOf('\n') >= 0 || !recorded.add(secret)) {
      return;
    }
    Path f = file();
    try {
      Files.createDirectories(f.getParent());
      synchronized (TestSecrets.class) {
        Files.writeString(
            f,
            secret + "\n",
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot record a test secret in " + f, e);
    }
  }
}
