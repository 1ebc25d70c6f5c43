package dev.oranc.push;

import dev.oranc.testkit.Nix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds closures of throwaway store paths from shell scripts, all in one {@code nix-instantiate}
 * and one {@code nix-store --realise}, and deletes exactly what it built. testkit's {@link Nix}
 * builds one fixed-shape path per call; a push test needs trees with awkward names, big files and
 * fifty-path closures, so this writes its own derivations, named with a random salt so that nothing
 * else on the (shared) store is ever touched.
 *
 * <p>The expression goes through a file, not argv, so a script's bytes do not depend on the JVM's
 * locale; scripts spell non-ASCII names with printf octal escapes for the same reason.
 */
final class TestStore implements AutoCloseable {

  private static final SecureRandom random = new SecureRandom();
  private static final Duration TIMEOUT = Duration.ofMinutes(10);

  /**
   * A derivation: {@code $out} made by {@code script} (run by {@code /bin/sh}), which finds the
   * output paths of {@code deps} (names of derivations in the same build) in {@code $deps}.
   */
  record Drv(String name, String script, List<String> deps) {
    Drv(String name, String script) {
      this(name, script, List.of());
    }
  }

  private final String salt = HexFormat.of().formatHex(randomBytes(6));
  private final Set<String> built = new LinkedHashSet<>();

  /** The salt in every name this store builds, to tell our paths apart. */
  String salt() {
    return salt;
  }

  /** Builds {@code drvs} (dependencies listed before their users); name → output path. */
  synchronized Map<String, String> build(List<Drv> drvs) {
    StringBuilder expr = new StringBuilder("let\n");
    for (Drv d : drvs) {
      expr.append("  ")
          .append(var(d.name()))
          .append(" = builtins.derivation {\n")
          .append("    name = ")
          .append(Nix.nixString(d.name() + "-" + salt))
          .append(";\n")
          .append("    system = builtins.currentSystem;\n")
          .append("    builder = \"/bin/sh\";\n")
          .append("    PATH = \"/usr/bin:/bin\";\n")
          .append("    args = [ \"-c\" ")
          .append(Nix.nixString(d.script()))
          .append(" ];\n")
          .append("    deps = [");
      for (String dep : d.deps()) {
        expr.append(' ').append(var(dep));
      }
      expr.append(" ];\n  };\n");
    }
    expr.append("in [");
    for (Drv d : drvs) {
      expr.append(' ').append(var(d.name()));
    }
    expr.append(" ]\n");
    Path file;
    try {
      file = Files.createTempFile("oranc-push-test", ".nix");
      Files.writeString(file, expr, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      List<String> derivations = lines(Nix.run("nix-instantiate", file.toString()));
      built.addAll(
          lines(Nix.exec(null, TIMEOUT, concat("nix-store", "-qR", derivations)).requireSuccess()));
      List<String> argv = new ArrayList<>(List.of("nix-store", "--realise"));
      argv.addAll(derivations);
      List<String> outputs = lines(Nix.exec(null, TIMEOUT, argv).requireSuccess());
      if (outputs.size() != drvs.size()) {
        throw new AssertionError("expected " + drvs.size() + " outputs, got " + outputs);
      }
      built.addAll(outputs);
      Map<String, String> byName = new LinkedHashMap<>();
      for (int i = 0; i < drvs.size(); i++) {
        byName.put(drvs.get(i).name(), outputs.get(i));
      }
      return byName;
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // a temp file
      }
    }
  }

  String build(Drv drv) {
    return build(List.of(drv)).get(drv.name());
  }

  /** Deletes everything built, outputs first; what is still referred to is left (and logged). */
  @Override
  public synchronized void close() {
    List<String> paths = new ArrayList<>(built);
    built.clear();
    Collections.reverse(paths);
    paths.removeIf(p -> !Files.exists(Path.of(p)));
    // Outputs before derivations, referrers before references.
    paths.sort((a, b) -> Boolean.compare(a.endsWith(".drv"), b.endsWith(".drv")));
    if (paths.isEmpty()) {
      return;
    }
    if (Nix.exec(null, TIMEOUT, concat("nix-store", "--delete", paths)).succeeded()) {
      return;
    }
    for (String p : paths) {
      if (Files.exists(Path.of(p))) {
        Nix.exec(null, TIMEOUT, List.of("nix-store", "--delete", p));
      }
    }
  }

  private static List<String> concat(String a, String b, List<String> rest) {
    List<String> all = new ArrayList<>(List.of(a, b));
    all.addAll(rest);
    return all;
  }

  private static List<String> lines(String text) {
    return Arrays.stream(text.strip().split("\n")).filter(s -> !s.isBlank()).toList();
  }

  private static String var(String name) {
    return "d_" + name.replaceAll("[^A-Za-z0-9]", "_");
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  // ----- scripts -----

  /** A file naming every dependency, so each becomes a reference. */
  static final String REFER_TO_DEPS = "for d in $deps; do echo $d >> $out/refs; done";

  /**
   * The awkward tree: names whose UTF-8 order differs from their UTF-16 order (U+FB01 'ﬁ' sorts
   * before U+1F600 in bytes, after it in UTF-16), a symlink, an executable, an empty file, an empty
   * directory, a nested non-ASCII directory, a file referring to the output itself.
   */
  static String awkwardTree(String contents) {
    return String.join(
        "; ",
        "mkdir -p $out/sub/empty-dir",
        "printf '%s' '" + contents + "' > $out/a",
        ": > $out/empty-file",
        "printf '#!/bin/sh\\necho hi\\n' > $out/exe",
        "chmod 755 $out/exe",
        "ln -s a $out/link",
        "ln -s /nonexistent/target $out/dangling",
        "printf fi > \"$out/$(printf '\\357\\254\\201')\"",
        "printf smile > \"$out/$(printf '\\360\\237\\230\\200')\"",
        "mkdir \"$out/$(printf '\\303\\251')\"",
        "printf u > \"$out/$(printf '\\303\\251')/$(printf '\\303\\274')\"",
        "echo $out > $out/sub/self",
        REFER_TO_DEPS);
  }
}
