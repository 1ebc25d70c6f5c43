package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.FaultInjector.Fault;
import dev.oranc.testkit.FaultInjector.Rule;
import dev.oranc.testkit.LogCapture;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A push never shows its secrets: with every logger at TRACE, a push against a token registry —
 * with a token fetch and a manifest PUT failing once, and a second push with a wrong password — is
 * searched, log events, progress output, report summary and per-path details, for the password, its
 * Basic form, the signing key's secret and anything shaped like a JWT.
 */
class PushSecretsNeverLeakTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.TOKEN);

  private static final String WRONG = "push-wrong-password-never-logged";
  private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}");

  @Test
  void noSecretInAnyLogLineOrOutputAtTrace() throws Exception {
    Nix.KeyPair key = Nix.generateKey("oranc-push-secrets-1");
    Registry registry = registries.get();
    LogCapture events = LogCapture.everythingAtTrace();
    List<String> output = new ArrayList<>();
    try (TestStore store = new TestStore();
        FaultInjector faults = new FaultInjector(registry.address(), registry.tokenRealm())) {
      Map<String, String> paths =
          store.build(
              List.of(
                  new TestStore.Drv("dep", "mkdir $out; echo dep > $out/x"),
                  new TestStore.Drv(
                      "app", "mkdir $out; " + TestStore.REFER_TO_DEPS, List.of("dep"))));
      faults.add(Rule.of("GET", "^/token", Fault.status(503), 1));
      faults.add(Rule.of("PUT", "/manifests/", Fault.status(500), 1));
      Map<String, String> env = new HashMap<>();
      env.put(Push.SIGNING_KEY_VARIABLE, key.secret());
      env.put(Push.USERNAME_VARIABLE, Registry.USER);
      env.put(Push.PASSWORD_VARIABLE, Registry.PASSWORD);
      output.add(run(faults, "secrets/push", env, paths.get("app")));
      env.put(Push.PASSWORD_VARIABLE, WRONG);
      output.add(run(faults, "secrets/wrong", env, paths.get("app")));
    } finally {
      events.close();
    }
    String keySecret = key.secret().substring(key.secret().indexOf(':') + 1);
    List<String> secrets =
        List.of(
            Registry.PASSWORD,
            WRONG,
            keySecret,
            keySecret.substring(0, 43),
            b64(Registry.USER + ":" + Registry.PASSWORD),
            b64(Registry.USER + ":" + WRONG));
    assertTrue(
        events.events().size() > 20, "expected a trace of the push, got " + events.events().size());
    for (ILoggingEvent e : events.events()) {
      check("log line of " + e.getLoggerName(), LogCapture.text(e), secrets);
    }
    for (String o : output) {
      check("the push's output", o, secrets);
    }
  }

  private static String run(FaultInjector faults, String repo, Map<String, String> env, String path)
      throws Exception {
    PushOptions options =
        PushOptions.builder(faults.address(), repo).noSsl(true).maxRetry(3).build();
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    PushReport report;
    try (PrintStream out = new PrintStream(progress, true, StandardCharsets.UTF_8)) {
      report =
          new Push(options, env)
              .run(
                  new ByteArrayInputStream((path + "\n").getBytes(StandardCharsets.UTF_8)),
                  Path.of("").toAbsolutePath(),
                  out,
                  false);
    }
    StringBuilder all = new StringBuilder(progress.toString(StandardCharsets.UTF_8));
    report.summary().forEach(l -> all.append(l).append('\n'));
    report.outcomes().forEach(o -> all.append(o).append('\n'));
    return all.toString();
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static void check(String where, String text, List<String> secrets) {
    for (String secret : secrets) {
      assertFalse(text.contains(secret), "a secret in " + where + ": " + text);
    }
    assertFalse(JWT.matcher(text).find(), "a token in " + where + ": " + text);
  }
}
