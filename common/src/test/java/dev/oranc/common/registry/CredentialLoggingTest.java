package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static dev.oranc.common.registry.RegistryClientFaultTest.failure;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.LogCapture;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import dev.oranc.testkit.TokenPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Nothing secret reaches a log line, at any level: every event of a token flow (including a refused
 * password and a refreshed token) is captured at TRACE and searched for the password, the Basic
 * header, anything shaped like a JWT and an upload session's signed state.
 */
class CredentialLoggingTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.TOKEN);

  private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]{10,}");

  @Test
  void noPasswordOrTokenIsEverLogged() throws Exception {
    LogCapture appender = LogCapture.everythingAtTrace();
    Registry r = registry.get();
    try (RegistryClient client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .backoff(Duration.ofMillis(5), Duration.ofMillis(10))
                .build())) {
      RepositoryRef repo = RepositoryRef.of(r.address(), "secrets/never");
      Credentials good = Credentials.basic(Registry.USER, Registry.PASSWORD);
      byte[] content = "some narinfo".getBytes(StandardCharsets.UTF_8);
      Descriptor d =
          await(client.putBlob(repo, content, null, ImageLayout.LAYER_MEDIA_TYPE, good, null));
      await(client.getBlobBytes(repo, d.digest(), 100, good, null));
      failure(
          client.getManifest(repo, "x", Credentials.basic(Registry.USER, "s3cr3t-wrong-pw"), null));
      r.tokenPolicy(TokenPolicy.expired());
      failure(
          client.getManifest(
              repo, "y", Credentials.basic(Registry.READER, Registry.READER_PASSWORD), null));
      r.tokenPolicy(TokenPolicy.DEFAULT);
    } finally {
      appender.close();
    }
    List<String> secrets =
        new ArrayList<>(List.of(Registry.PASSWORD, Registry.READER_PASSWORD, "s3cr3t-wrong-pw"));
    for (String userPass :
        List.of(
            Registry.USER + ":" + Registry.PASSWORD,
            Registry.READER + ":" + Registry.READER_PASSWORD)) {
      secrets.add(Base64.getEncoder().encodeToString(userPass.getBytes(StandardCharsets.UTF_8)));
    }
    assertTrue(
        appender.events().size() > 10,
        "expected a trace of the flow, got " + appender.events().size() + " events");
    for (ILoggingEvent e : appender.events()) {
      String text = LogCapture.text(e);
      for (String secret : secrets) {
        assertFalse(
            text.contains(secret), "a secret in the log: " + e.getLoggerName() + ": " + text);
      }
      assertFalse(
          JWT.matcher(text).find(), "a token in the log: " + e.getLoggerName() + ": " + text);
      // An upload session's URL carries the registry's signed state: whoever has it can continue
      // (or finish) the upload, so no query string is ever logged.
      assertFalse(
          text.contains("_state="),
          "an upload session's state in the log: " + e.getLoggerName() + ": " + text);
    }
  }
}
