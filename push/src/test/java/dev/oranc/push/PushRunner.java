package dev.oranc.push;

import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/** Runs pushes in this JVM against a test registry, through its counting proxy. */
final class PushRunner {

  private final Registry registry;
  private final Nix.KeyPair key;

  PushRunner(Registry registry, Nix.KeyPair key) {
    this.registry = registry;
    this.key = key;
  }

  PushOptions.Builder options(String repository) {
    return PushOptions.builder(registry.proxyAddress(), repository).noSsl(true);
  }

  /** ORANC_SIGNING_KEY, and the registry's user when it wants one. */
  Map<String, String> environment() {
    Map<String, String> env = new HashMap<>();
    env.put(Push.SIGNING_KEY_VARIABLE, key.secret());
    env.put(Push.USERNAME_VARIABLE, Registry.USER);
    env.put(Push.PASSWORD_VARIABLE, Registry.PASSWORD);
    return env;
  }

  PushReport push(String repository, List<String> lines) throws Exception {
    return push(repository, lines, o -> o);
  }

  PushReport push(String repository, List<String> lines, UnaryOperator<PushOptions.Builder> tweak)
      throws Exception {
    return push(tweak.apply(options(repository)).build(), environment(), lines);
  }

  static PushReport push(PushOptions options, Map<String, String> env, List<String> lines)
      throws Exception {
    byte[] stdin = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
    PushReport report =
        new Push(options, env)
            .run(new ByteArrayInputStream(stdin), Path.of("").toAbsolutePath(), System.err, false);
    report.summary().forEach(System.err::println);
    return report;
  }
}
