package dev.oranc.proxy.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.oranc.common.error.FormatException;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.testkit.SeedCorpus;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of the {@code Authorization} header ({@link AuthorizationParser}), which the server reads
 * before anything else (the path and query: {@code RouteFuzzTest}). The input is Latin-1 text, as
 * Netty hands over headers byte for byte, and the whole input is a header value. Invariants:
 * credentials or a {@link FormatException}, whose message is one of a fixed set — so it can never
 * quote the credentials a client sent, however malformed.
 */
class AuthorizationFuzzTest {

  private static final List<String> CREDENTIALS_TEXT =
      List.of("Credentials[anonymous]", "Credentials[basic, <redacted>]");

  /** Every message AuthorizationParser may give, whatever it read. */
  private static final List<String> KNOWN_MESSAGES =
      List.of(
          "Authorization header: Basic credentials are empty",
          "Authorization header: Basic credentials are not base64",
          "Authorization header: Basic credentials are not UTF-8 once base64-decoded",
          "Authorization header: Basic credentials do not decode to user:password (both non-empty,"
              + " separated by ':')",
          "Authorization header: the S3 access key id are empty",
          "Authorization header: the S3 access key id are not base64",
          "Authorization header: the S3 access key id are not UTF-8 once base64-decoded",
          "Authorization header: the S3 access key id do not decode to user:password (both"
              + " non-empty, separated by ':')",
          "Authorization header: AWS4-HMAC-SHA256 Credential= is not"
              + " ID/date/region/service/aws4_request",
          "Authorization header: AWS4-HMAC-SHA256 without a Credential= parameter");

  @FuzzTest(maxDuration = "5m")
  void authorizationHeaders(byte[] input) {
    String header = new String(input, StandardCharsets.ISO_8859_1);
    Credentials c;
    try {
      c = AuthorizationParser.parse(header);
    } catch (FormatException refused) {
      String m = refused.getMessage();
      assertTrue(
          KNOWN_MESSAGES.contains(m) || m.startsWith("Authorization header: unsupported scheme"),
          "an unexpected message (might it quote the header?): " + m);
      if (m.startsWith("Authorization header: unsupported scheme")) {
        assertTrue(
            AuthorizationParser.unsupportedSchemeMessages().contains(m),
            "a scheme message quoting input: " + m);
      }
      return;
    }
    assertTrue(CREDENTIALS_TEXT.contains(c.toString()), "credentials printed themselves: " + c);
    assertEquals(header == null || header.isBlank(), c.isAnonymous());
  }

  @Test
  void seedMutations() {
    SeedCorpus.of(AuthorizationFuzzTest.class, "authorizationHeaders")
        .sweep(20240605, 5_000, this::authorizationHeaders);
  }
}
