package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.oranc.testkit.LogCapture;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import dev.oranc.testkit.TokenPolicy;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * No credential or token reaches a log line (at TRACE, every logger), an error body, the access log
 * or {@code /-/metrics}, whatever the requests do: uploads and downloads with a writer's and a
 * reader's credentials against a token registry, a wrong password, S3 credentials, a bare token
 * without a scheme, a reader's refused upload, expired tokens. The metrics' label values are also
 * checked to come from their fixed sets, so no request can put text of its own into a label.
 *
 * <p>{@code scripts/check-secrets} does the same over everything the whole test run captured.
 */
class SecretsNeverLeakTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.TOKEN);

  private static final String WRONG = "wrong-password-never-logged";
  private static final String BARE_TOKEN = "ghp_BareTokenSentWithoutAScheme0123";
  private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}");

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void noSecretInLogsBodiesOrMetricsAtTrace() throws Exception {
    LogCapture events = LogCapture.everythingAtTrace();
    List<String> seen = new ArrayList<>();
    Registry r = registry.get();
    String user = TestServer.basic(Registry.USER, Registry.PASSWORD);
    String reader = TestServer.basic(Registry.READER, Registry.READER_PASSWORD);
    String s3 =
        "AWS4-HMAC-SHA256 Credential="
            + b64(Registry.USER + ":" + Registry.PASSWORD)
            + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
    try (TestServer server = TestServer.start()) {
      String base = "/" + r.address() + "/secrets/cache";
      byte[] nar = new byte[300_000];
      new Random(4).nextBytes(nar);
      seen.add(
          body(
              server.put(
                  base + "/s.narinfo",
                  "StorePath: /nix/store/s\n".getBytes(),
                  user,
                  "Content-Type",
                  "text/x-nix-narinfo")));
      seen.add(body(server.put(base + "/nar/s.nar", nar, s3)));
      seen.add(body(server.get(base + "/s.narinfo", reader)));
      seen.add(body(server.get(base + "/nar/s.nar", reader)).substring(0, 0));
      seen.add(body(server.get(base + "/s.narinfo", TestServer.basic(Registry.USER, WRONG))));
      seen.add(body(server.put(base + "/x.narinfo", "x".getBytes(), reader)));
      seen.add(body(server.get(base + "/s.narinfo", "Basic " + b64(Registry.USER + ":" + WRONG))));
      seen.add(body(server.get(base + "/s.narinfo", BARE_TOKEN)));
      seen.add(body(server.get(base + "/s.narinfo", "Bearer " + BARE_TOKEN)));
      seen.add(body(server.get(base + "/missing.narinfo", user)));
      r.tokenPolicy(TokenPolicy.expired());
      server.server.clearCaches();
      seen.add(body(server.get(base + "/s.narinfo", user)));
      seen.add(body(server.put(base + "/y.narinfo", "y".getBytes(), user)));
      r.tokenPolicy(TokenPolicy.DEFAULT);
      HttpResponse<byte[]> metrics = server.get("/-/metrics", null);
      seen.add(body(metrics));
      checkMetricLabels(new String(metrics.body(), StandardCharsets.UTF_8));
    } finally {
      events.close();
    }
    List<String> secrets =
        List.of(
            Registry.PASSWORD,
            Registry.READER_PASSWORD,
            WRONG,
            BARE_TOKEN,
            b64(Registry.USER + ":" + Registry.PASSWORD),
            b64(Registry.READER + ":" + Registry.READER_PASSWORD),
            b64(Registry.USER + ":" + WRONG));
    assertTrue(
        events.events().size() > 50,
        "expected a trace of the traffic, got " + events.events().size() + " events");
    assertTrue(r.tokenRequests() > 0, "the scenario fetched no token");
    for (ILoggingEvent e : events.events()) {
      String text = LogCapture.text(e) + " " + e.getMDCPropertyMap();
      check("log line of " + e.getLoggerName(), text, secrets);
    }
    for (String body : seen) {
      check("a response body", body, secrets);
    }
  }

  private static String body(HttpResponse<byte[]> r) {
    return r.statusCode()
        + " "
        + r.headers().map()
        + " "
        + new String(r.body(), StandardCharsets.UTF_8);
  }

  private static void check(String where, String text, List<String> secrets) {
    for (String secret : secrets) {
      assertFalse(text.contains(secret), "a secret in " + where + ": " + text);
    }
    assertFalse(JWT.matcher(text).find(), "a token in " + where + ": " + text);
  }

  private static final Pattern SAMPLE = Pattern.compile("^([a-z_]+)(\\{[^}]*\\})? \\S+$");
  private static final Pattern LABEL = Pattern.compile("([a-z_]+)=\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Map<String, Pattern> LABEL_VALUES =
      Map.of(
          "le", Pattern.compile("\\d+(\\.\\d+)?|\\+Inf"),
          "method", Pattern.compile("GET|HEAD|PUT|other"),
          "status", Pattern.compile("[1-5]\\d\\d"),
          "direction", Pattern.compile("download|upload"),
          "operation",
              Pattern.compile(
                  "resolve|blob_get|blob_open|upload|publish|prefetch_resolve|prefetch_blob_get"),
          "outcome", Pattern.compile("ok|miss|error|found|absent|failed|[A-Z][A-Za-z]{1,30}"),
          "cache", Pattern.compile("layer|blob|upstream"),
          "path", Pattern.compile("direct|spooled"),
          "reason", Pattern.compile("address|not_allowed"),
          "result", Pattern.compile("done|dropped|failed|skipped"));

  /** Every sample line parses, and every label is known with a value from its fixed set. */
  static void checkMetricLabels(String metrics) {
    int samples = 0;
    for (String line : metrics.split("\n")) {
      if (line.startsWith("#") || line.isEmpty()) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      assertTrue(m.matches(), "not a sample line: " + line);
      samples++;
      if (m.group(2) == null) {
        continue;
      }
      Matcher l = LABEL.matcher(m.group(2));
      while (l.find()) {
        Pattern allowed = LABEL_VALUES.get(l.group(1));
        assertTrue(allowed != null, "an unknown label " + l.group(1) + " in " + line);
        assertTrue(allowed.matcher(l.group(2)).matches(), "label value out of its set: " + line);
      }
    }
    assertTrue(samples > 10, metrics);
  }
}
