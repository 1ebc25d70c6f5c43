package dev.oranc.proxy.route;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.StrictUtf8;
import dev.oranc.common.registry.auth.Credentials;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * Registry credentials from a request's {@code Authorization} header (SPEC §3).
 *
 * <ul>
 *   <li>none: anonymous;
 *   <li>{@code Basic base64(user:password)} (curl, hence Nix, from a URL's userinfo or a netrc);
 *   <li>{@code AWS4-HMAC-SHA256 Credential=ID/date/region/s3/aws4_request, …} where the access key
 *       id {@code ID} is {@code base64(user:password)}. The secret key and the signature are not
 *       checked: the registry checks the password.
 * </ul>
 *
 * A header that is present but cannot be read is a {@link FormatException} (400), never anonymous:
 * a client that meant to send credentials must not silently read public data, or get a 401 that
 * blames the registry. Messages never quote the header: it carries a password.
 */
public final class AuthorizationParser {

  /** The subject of every {@link FormatException} this parser throws. */
  public static final String SUBJECT = "Authorization header";

  private static final String AWS_SCHEME = "aws4-hmac-sha256";

  /**
   * The parts after the access key id in a SigV4 credential scope:
   * date/region/service/aws4_request.
   */
  private static final int SCOPE_PARTS = 4;

  private AuthorizationParser() {}

  /** The credentials a header value stands for; {@code null} or blank means anonymous. */
  public static Credentials parse(String header) {
    if (header == null || header.isBlank()) {
      return Credentials.anonymous();
    }
    String value = header.trim();
    int space = value.indexOf(' ');
    String scheme = (space < 0 ? value : value.substring(0, space)).toLowerCase(Locale.ROOT);
    String rest = space < 0 ? "" : value.substring(space + 1).trim();
    return switch (scheme) {
      case "basic" -> userPassword(rest, "Basic credentials");
      case AWS_SCHEME -> userPassword(accessKeyId(rest), "the S3 access key id");
      default -> throw new FormatException(SUBJECT, unsupportedScheme(scheme));
    };
  }

  private static final String EXPECTED =
      " (expected Basic, or AWS4-HMAC-SHA256 with an access key id that is base64(user:password))";

  /**
   * Schemes that are named when refused. Any other first word is not quoted: a client that sends a
   * bare token or password ({@code Authorization: s3cr3t}) would otherwise read it back in the
   * answer, and the operator in the log.
   */
  private static final List<String> NAMED_SCHEMES =
      List.of(
          "Bearer",
          "Digest",
          "Negotiate",
          "NTLM",
          "AWS",
          "Token",
          "HOBA",
          "Mutual",
          "OAuth",
          "DPoP");

  private static String unsupportedScheme(String scheme) {
    for (String named : NAMED_SCHEMES) {
      if (named.equalsIgnoreCase(scheme)) {
        return "unsupported scheme '" + named + "'" + EXPECTED;
      }
    }
    return "unsupported scheme, or a value without one" + EXPECTED;
  }

  /** Every message a refused scheme can get (tests check no other one is ever made). */
  static List<String> unsupportedSchemeMessages() {
    List<String> all = new ArrayList<>();
    for (String named : NAMED_SCHEMES) {
      all.add(SUBJECT + ": " + unsupportedScheme(named));
    }
    all.add(SUBJECT + ": " + unsupportedScheme(""));
    return all;
  }

  /** The access key id of {@code Credential=ID/date/region/s3/aws4_request, SignedHeaders=…}. */
  private static String accessKeyId(String parameters) {
    for (String part : parameters.split(",")) {
      String p = part.trim();
      if (p.regionMatches(true, 0, "Credential=", 0, "Credential=".length())) {
        String scope = p.substring("Credential=".length()).trim();
        // base64 may contain '/', so the id is what is left once the four scope parts are off.
        int end = scope.length();
        for (int i = 0; i < SCOPE_PARTS; i++) {
          end = scope.lastIndexOf('/', end - 1);
          if (end <= 0) {
            throw new FormatException(
                SUBJECT, "AWS4-HMAC-SHA256 Credential= is not ID/date/region/service/aws4_request");
          }
        }
        return scope.substring(0, end);
      }
    }
    throw new FormatException(SUBJECT, "AWS4-HMAC-SHA256 without a Credential= parameter");
  }

  /**
   * Credentials by their base64 form: hundreds of clients send the same few, and decoding them and
   * computing their fingerprint (a SHA-256) on every request was most of the routing's work.
   * Bounded; only well-formed credentials are kept.
   */
  private static final Cache<String, Credentials> DECODED =
      Caffeine.newBuilder().maximumSize(4096).expireAfterAccess(Duration.ofMinutes(10)).build();

  private static Credentials userPassword(String encoded, String what) {
    String key = encoded.trim();
    Credentials known = DECODED.getIfPresent(key);
    if (known != null) {
      return known;
    }
    Credentials decoded = decode(key, what);
    DECODED.put(key, decoded);
    return decoded;
  }

  private static Credentials decode(String encoded, String what) {
    byte[] bytes = decodeBase64(encoded, what);
    String text = StrictUtf8.decode(bytes, SUBJECT, what + " are not UTF-8 once base64-decoded");
    int colon = text.indexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new FormatException(
          SUBJECT, what + " do not decode to user:password (both non-empty, separated by ':')");
    }
    return Credentials.basic(text.substring(0, colon), text.substring(colon + 1));
  }

  private static byte[] decodeBase64(String encoded, String what) {
    if (encoded.isEmpty()) {
      throw new FormatException(SUBJECT, what + " are empty");
    }
    try {
      return Base64.getDecoder().decode(encoded);
    } catch (IllegalArgumentException standard) {
      try {
        // Some S3 tools carry the id URL-safe, since it travels in URLs too.
        return Base64.getUrlDecoder().decode(encoded);
      } catch (IllegalArgumentException urlSafe) {
        throw new FormatException(SUBJECT, what + " are not base64");
      }
    }
  }
}
