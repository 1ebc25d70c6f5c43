package dev.oranc.common.registry.auth;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed {@code WWW-Authenticate} header (RFC 7235): {@code Bearer realm="…",service="…",
 * scope="…"} from a token-auth registry such as ghcr.io, or {@code Basic realm="…"}.
 *
 * <p>Parameter values may be quoted and may contain commas ({@code
 * scope="repository:a:pull,push"}), so this is a small tokenizer rather than a split on commas.
 *
 * <p>A challenge is remembered per origin ({@link Authenticator}), and origins come from requests,
 * so its size is bounded: a header over {@link #MAX_CHARS} is refused as a protocol error before it
 * is parsed. Real ones (ghcr.io's, Docker Hub's with {@code error="insufficient_scope"}) are a few
 * hundred characters; a realm of kilobytes is an attack or a broken registry.
 */
public record AuthChallenge(String scheme, Map<String, String> params) {

  /** The longest {@code WWW-Authenticate} value (all of a 401's, together) we read. */
  public static final int MAX_CHARS = 4096;

  public AuthChallenge {
    scheme = scheme.toLowerCase(Locale.ROOT);
    params = Map.copyOf(params);
  }

  boolean isBearer() {
    return scheme.equals("bearer");
  }

  boolean isBasic() {
    return scheme.equals("basic");
  }

  /** Characters held: what a remembered challenge weighs. */
  int weight() {
    int n = 32 + scheme.length();
    for (Map.Entry<String, String> e : params.entrySet()) {
      n += 32 + e.getKey().length() + e.getValue().length();
    }
    return n;
  }

  /** The total length of a 401's {@code WWW-Authenticate} values. */
  public static long headerChars(HttpHeaders headers) {
    long n = 0;
    for (String v : headers.getAll(HttpHeaderNames.WWW_AUTHENTICATE)) {
      n += v.length();
    }
    return n;
  }

  String realm() {
    return params.get("realm");
  }

  String service() {
    return params.get("service");
  }

  String scope() {
    return params.get("scope");
  }

  /** The first challenge of a header value; empty when there is none we understand. */
  public static Optional<AuthChallenge> parse(String header) {
    if (header == null) {
      return Optional.empty();
    }
    String s = header.trim();
    int space = s.indexOf(' ');
    String scheme = space < 0 ? s : s.substring(0, space);
    if (scheme.isEmpty()) {
      return Optional.empty();
    }
    Map<String, String> params = new LinkedHashMap<>();
    int i = space < 0 ? s.length() : space + 1;
    while (i < s.length()) {
      while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == ',')) {
        i++;
      }
      int eq = s.indexOf('=', i);
      if (eq < 0) {
        break;
      }
      String name = s.substring(i, eq).trim().toLowerCase(Locale.ROOT);
      i = eq + 1;
      StringBuilder value = new StringBuilder();
      if (i < s.length() && s.charAt(i) == '"') {
        i++;
        while (i < s.length() && s.charAt(i) != '"') {
          char c = s.charAt(i);
          if (c == '\\' && i + 1 < s.length()) {
            c = s.charAt(++i);
          }
          value.append(c);
          i++;
        }
        i++; // closing quote
      } else {
        while (i < s.length() && s.charAt(i) != ',') {
          value.append(s.charAt(i++));
        }
      }
      if (name.contains(" ")) {
        // The start of a second challenge ("…, Basic realm=…"): we use the first one only.
        break;
      }
      params.putIfAbsent(name, value.toString().trim());
    }
    return Optional.of(new AuthChallenge(scheme, params));
  }
}
