package dev.oranc.proxy.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.oranc.common.error.FormatException;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.testkit.SeedCorpus;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of what the server reads from a request before anything else: the path and query ({@link
 * Router}; the {@code Authorization} header alone: {@code s3.AuthorizationFuzzTest}). The input is
 * Latin-1 text, as Netty hands over a request line and headers byte for byte.
 *
 * <p>{@link #routes}: the input's lines are method, target and (optional) Authorization header.
 * Invariants: the result is a route, or a {@link RequestRejected} or {@link FormatException} (a
 * 4xx) with a one-line message — nothing else is thrown; a file route has a non-empty key without
 * control characters, its tags can be made (read tags, and the write tag for a PUT), and it does
 * not print its credentials; what a PUT can store, a GET of the same target reads, and a GET is
 * refused with a 400 ({@link FormatException}) only where a PUT is too (a key that cannot exist is
 * a 404 for a read).
 */
class RouteFuzzTest {

  private record Setup(Router router, TagCodec codec) {
    Setup(int parts, TagCodec codec) {
      this(new Router(parts, codec), codec);
    }
  }

  private static final List<Setup> SETUPS =
      List.of(
          new Setup(2, TagCodec.DEFAULT),
          new Setup(1, new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.BASE32_DNSSEC))));

  private static final List<String> CREDENTIALS_TEXT =
      List.of("Credentials[anonymous]", "Credentials[basic, <redacted>]");

  @FuzzTest(maxDuration = "5m")
  void routes(byte[] input) {
    String[] lines = new String(input, StandardCharsets.ISO_8859_1).split("\n", 3);
    String method = lines[0];
    String target = lines.length > 1 ? lines[1] : "/";
    String authorization = lines.length > 2 ? lines[2] : null;
    for (Setup setup : SETUPS) {
      Route route;
      try {
        route = setup.router.route(method, target, authorization);
      } catch (RequestRejected | FormatException refused) {
        String m = refused.getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), "a message of more than one line: " + m);
        if (refused instanceof FormatException && (method.equals("GET") || method.equals("HEAD"))) {
          try {
            setup.router.route("PUT", target, authorization);
            throw new AssertionError(
                "a 400 for " + method + " of " + target + ", which a PUT stores");
          } catch (RequestRejected | FormatException alsoRefused) {
            // a malformed registry, repository, query or header: a 400 for every method
          }
        }
        continue;
      }
      if (route instanceof Route.File f) {
        assertFalse(f.key().isEmpty());
        for (char c : f.key().toCharArray()) {
          assertFalse(Character.isISOControl(c), "a control character in key '" + f.key() + "'");
        }
        assertFalse(setup.codec.readTags(f.key()).isEmpty());
        if (f.method() == Route.Method.PUT) {
          setup.codec.writeTag(f.key());
        }
        assertTrue(
            CREDENTIALS_TEXT.contains(f.credentials().toString()),
            "credentials printed themselves");
        assertTrue(
            f.toString()
                .endsWith(f.credentials().isAnonymous() ? "anonymous]" : "with credentials]"),
            f.toString());
        if (f.method() == Route.Method.PUT) {
          Route read = setup.router.route("GET", target, authorization);
          assertEquals(f.key(), ((Route.File) read).key(), "a GET of what a PUT stores");
        }
      } else {
        assertTrue(List.of("GET", "HEAD").contains(method), method + " reached a service");
      }
    }
  }

  @Test
  void seedMutations() {
    SeedCorpus.of(RouteFuzzTest.class, "routes").sweep(20240604, 5_000, this::routes);
  }
}
