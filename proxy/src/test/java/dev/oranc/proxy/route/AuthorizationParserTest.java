package dev.oranc.proxy.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.registry.auth.Credentials;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AuthorizationParserTest {

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void noHeaderIsAnonymous() {
    assertTrue(AuthorizationParser.parse(null).isAnonymous());
    assertTrue(AuthorizationParser.parse("  ").isAnonymous());
  }

  @Test
  void basic() {
    assertEquals(
        Credentials.basic("user", "pa:ss"),
        AuthorizationParser.parse("Basic " + b64("user:pa:ss")));
    assertEquals(
        Credentials.basic("user", "p"), AuthorizationParser.parse("basic   " + b64("user:p")));
  }

  @Test
  void s3AccessKeyIdIsBase64OfUserPassword() {
    String header =
        "AWS4-HMAC-SHA256 Credential="
            + b64("oranc-user:oranc-user-password")
            + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date,"
            + " Signature=abcdef";
    assertEquals(
        Credentials.basic("oranc-user", "oranc-user-password"), AuthorizationParser.parse(header));
  }

  @Test
  void anAccessKeyIdWithSlashesInItsBase64IsReadWhole() {
    // "??>" encodes to "Pz8+" and "???" to "Pz8/": base64 may contain '/', unlike the Rust tool's
    // regex assumes.
    String user = "u???";
    String password = "p???";
    String id = b64(user + ":" + password);
    assertTrue(id.contains("/"), id);
    String header =
        "AWS4-HMAC-SHA256 Credential="
            + id
            + "/20240101/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=x";
    assertEquals(Credentials.basic(user, password), AuthorizationParser.parse(header));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Basic",
        "Basic !!!notbase64",
        "Basic dXNlcg==" /* "user", no colon */,
        "Basic OnA=" /* ":p" */,
        "Basic dTo=" /* "u:" */,
        "Basic //79",
        "Bearer abc.def",
        "Digest username=x",
        "AWS4-HMAC-SHA256 SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=abc",
        "AWS4-HMAC-SHA256 Credential=!!!/20240101/us-east-1/s3/aws4_request"
      })
  void unreadableHeadersAreBadRequestsThatDoNotQuoteTheHeader(String header) {
    FormatException e =
        assertThrows(FormatException.class, () -> AuthorizationParser.parse(header));
    String[] parts = header.split(" ", 2);
    if (parts.length == 2 && parts[1].length() > 3) {
      assertFalse(e.getMessage().contains(parts[1]), e.getMessage());
    }
    assertFalse(e.getMessage().contains("\n"));
  }
}
