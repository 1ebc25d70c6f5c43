package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayOutputStream;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The server's HTTP face against input no well-behaved client sends, over real sockets, byte for
 * byte: malformed paths, header abuse, conflicting body framing, unknown methods and versions,
 * pipelining, half requests. For every case:
 *
 * <ul>
 *   <li>each answer is the expected status: a 4xx with a one-line body naming what was wrong, or
 *       the right success; never a 5xx;
 *   <li>nothing hangs: every read has a deadline, and a case that expects the server to close the
 *       connection gets that close within the idle or head timeout;
 *   <li>the server stays up: a good request on a new connection succeeds after each case.
 * </ul>
 *
 * The registry behind is the real one (anonymous), so a well-formed request for a key that does not
 * exist is a genuine 404 {@code NoSuchKey}, not a connection error.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BadInputCorpusTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final Duration IDLE = Duration.ofSeconds(2);

  /** Longer than any timeout of the server: a read that waits this long means it hung. */
  private static final int READ_DEADLINE_MILLIS = 6000;

  private static final String SECRET = "corpus-secret-password";

  private static TestServer server;
  private static String reg;

  @BeforeAll
  static void start() {
    server = TestServer.start(b -> b.idleTimeout(IDLE));
    reg = registry.get().address();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** What a case must get: these statuses in order, then (optionally) a closed connection. */
  record Expect(int[] statuses, boolean closes) {
    static Expect answers(int... statuses) {
      return new Expect(statuses, false);
    }

    static Expect answersThenCloses(int... statuses) {
      return new Expect(statuses, true);
    }

    /** No answer at all: the server closes the connection (within its timeouts). */
    static Expect closesSilently() {
      return new Expect(new int[0], true);
    }
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] bytes(Object... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (Object p : parts) {
      byte[] x = p instanceof byte[] a ? a : ((String) p).getBytes(StandardCharsets.ISO_8859_1);
      b.writeBytes(x);
    }
    return b.toByteArray();
  }

  private static Arguments c(String name, Expect expect, Object... request) {
    return Arguments.of(name, bytes(request), expect);
  }

  private static String get(String target, String... headers) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + String.join("", headers) + "\r\n";
  }

  /** {R} stands for the registry's address, filled in when the case runs. */
  static Stream<Arguments> corpus() {
    String k = "/{R}/test/bad";
    String basicSecret = "Authorization: Basic " + b64("user:" + SECRET) + "\r\n";
    return Stream.of(
        // --- paths ---
        c("a good miss, for reference", Expect.answers(404), get(k + "/nope.narinfo")),
        // A key nothing can store is a miss for a read (Nix reads only 404/403/410 as absent), and
        // a 400 for a PUT; a malformed registry or repository stays a 400.
        c("%ZZ", Expect.answers(404), get(k + "/%ZZ")),
        c(
            "%ZZ in a PUT",
            Expect.answers(400),
            "PUT " + k + "/%ZZ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        c("%ZZ in the repository", Expect.answers(400), get("/{R}/test/b%ZZ/k")),
        c("truncated escape", Expect.answers(404), get(k + "/a%4")),
        c("%00 in a key", Expect.answers(404), get(k + "/a%00b")),
        c(
            "%00 in a key in a PUT",
            Expect.answers(400),
            "PUT " + k + "/a%00b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        c("%0A in a key (log injection)", Expect.answers(404), get(k + "/a%0D%0Ab")),
        c("escape sequence in a key", Expect.answers(404), get(k + "/a%1B%5B31mb")),
        c("%00 in the registry", Expect.answers(400), get("/{R}%00/test/bad/k")),
        c(
            "raw non-UTF-8 bytes in a key",
            Expect.answers(404),
            "GET " + k + "/\u00ff\u00fe HTTP/1.1\r\nHost: x\r\n\r\n"),
        c(
            "raw non-UTF-8 bytes in the registry",
            Expect.answers(400),
            "GET /\u00c3\u0028/test/bad/k HTTP/1.1\r\nHost: x\r\n\r\n"),
        c("overlong UTF-8 escape", Expect.answers(404), get(k + "/%C0%AF")),
        c("UTF-16 surrogate escape", Expect.answers(404), get(k + "/%ED%A0%80")),
        c(
            "raw control byte in the path",
            Expect.answers(404),
            "GET " + k + "/a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n"),
        c(
            "a key that cannot exist, signed for S3",
            Expect.answers(404),
            get(
                k + "/%ZZ",
                "Authorization: AWS4-HMAC-SHA256 Credential="
                    + b64("u:p")
                    + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n")),
        c("dot-dot in a key is only a key", Expect.answers(404), get(k + "/../../etc/passwd")),
        c("dot-dot as the repository", Expect.answers(400), get("/{R}/../bad/k")),
        c("empty repository segment", Expect.answers(400), get("/{R}//bad/k")),
        c("empty registry", Expect.answers(400), get("//test/bad/k")),
        // The registry segment decodes to "R/test", so the rest is one segment short of a key.
        c("%2F inside the registry", Expect.answers(404), get("/{R}%2Ftest/bad/k")),
        c("no key", Expect.answers(404), get(k)),
        c(
            "a key whose tag is too long is a miss (hashed tag)",
            Expect.answers(404),
            get(k + "/" + "%C3%A9".repeat(50))),
        c("64 KiB path", Expect.answersThenCloses(414), get(k + "/" + "a".repeat(64 * 1024))),
        c("not a path", Expect.answers(400), get("foo")),
        c("asterisk form", Expect.answers(400), "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
        c("bad escape in the query", Expect.answers(400), get(k + "/k?registry=%ZZ")),
        c("empty registry in the query", Expect.answers(400), get(k + "/k?registry=")),
        c("fragment", Expect.answers(404), get(k + "/k#frag")),
        c("unknown service", Expect.answers(404), get("/-/nope")),

        // --- Authorization ---
        c(
            "huge Authorization",
            Expect.answersThenCloses(431),
            get(k + "/k", "Authorization: Basic " + "A".repeat(20_000) + "\r\n")),
        c(
            "duplicated Authorization",
            Expect.answers(400),
            get(k + "/k", basicSecret, "Authorization: Basic " + b64("other:pw") + "\r\n")),
        c(
            "unsupported scheme",
            Expect.answers(400),
            get(k + "/k", "Authorization: Bearer " + SECRET + "\r\n")),
        c(
            "scheme without credentials",
            Expect.answers(400),
            get(k + "/k", "Authorization: Basic\r\n")),
        c(
            "bad base64",
            Expect.answers(400),
            get(k + "/k", "Authorization: Basic !!" + SECRET + "!!\r\n")),
        c(
            "base64 of no user:password",
            Expect.answers(400),
            get(k + "/k", "Authorization: Basic " + b64(SECRET) + "\r\n")),
        c(
            "base64 of non-UTF-8",
            Expect.answers(400),
            get(k + "/k", "Authorization: Basic //79\r\n")),
        c(
            "S3 Credential= without a colon inside",
            Expect.answers(400),
            get(
                k + "/k",
                "Authorization: AWS4-HMAC-SHA256 Credential="
                    + b64(SECRET)
                    + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n")),
        c(
            "S3 Credential= without a scope",
            Expect.answers(400),
            get(
                k + "/k",
                "Authorization: AWS4-HMAC-SHA256 Credential=" + b64("u:" + SECRET) + "\r\n")),
        c(
            "S3 without Credential=",
            Expect.answers(400),
            get(k + "/k", "Authorization: AWS4-HMAC-SHA256 Signature=00\r\n")),
        c(
            "non-ASCII bytes in Authorization",
            Expect.answers(400),
            get(k + "/k", "Authorization: Basic \u00e9\u00e9\u00e9\u00e9\r\n")),
        c(
            "blank Authorization is anonymous",
            Expect.answers(404),
            get(k + "/k", "Authorization: \r\n")),

        // --- body framing ---
        c(
            "Content-Length over 2^63",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        c(
            "negative Content-Length",
            Expect.answersThenCloses(400),
            "PUT " + k + "/k HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        c(
            "Content-Length that is not a number",
            Expect.answersThenCloses(400),
            "PUT " + k + "/k HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"),
        c(
            "two different Content-Lengths",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"),
        c(
            "Content-Length and chunked",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\n"
                + "Host: x\r\n"
                + "Content-Length: 3\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"
                + "3\r\n"
                + "abc\r\n"
                + "0\r\n\r\n"),
        c(
            "Content-Length and chunked on a GET (smuggling shape)",
            Expect.answersThenCloses(400),
            "GET "
                + k
                + "/k HTTP/1.1\r\n"
                + "Host: x\r\n"
                + "Content-Length: 4\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\n"
                + "GET /-/health HTTP/1.1\r\n"
                + "Host: x\r\n\r\n"),
        c(
            "a transfer coding other than chunked",
            Expect.answersThenCloses(400),
            "PUT " + k + "/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc"),
        c(
            "chunked, then another coding",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\n"
                + "Host: x\r\n"
                + "Transfer-Encoding: chunked, identity\r\n\r\n"
                + "0\r\n\r\n"),
        c(
            "a chunk size that is not hex",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"),
        c(
            "a GET with a body keeps the connection",
            Expect.answers(200, 200),
            "GET /-/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                + get("/-/health")),

        // --- other headers ---
        c(
            "a header line without a colon",
            Expect.answersThenCloses(400),
            "GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"),
        c(
            "whitespace before the colon",
            Expect.answersThenCloses(400),
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
        c(
            "NUL in a header value",
            Expect.answersThenCloses(400),
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n"),
        c(
            "a thousand headers",
            Expect.answersThenCloses(431),
            "GET / HTTP/1.1\r\nHost: x\r\n" + "X-A: b\r\n".repeat(3000) + "\r\n"),
        c(
            "aws-chunked upload",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\n"
                + "Host: x\r\n"
                + "Content-Encoding: aws-chunked\r\n"
                + "Content-Length: 3\r\n\r\n"
                + "abc"),
        // Stored as annotations and sent back as headers: what could not be is refused up front.
        c(
            "a Content-Type that is not ASCII",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\n"
                + "Host: x\r\n"
                + "Content-Type: text/h\u00e9ml\r\n"
                + "Content-Length: 3\r\n\r\n"
                + "abc"),
        c(
            "a 2,000-character Content-Encoding",
            Expect.answersThenCloses(400),
            "PUT "
                + k
                + "/k HTTP/1.1\r\nHost: x\r\nContent-Encoding: "
                + "z".repeat(2000)
                + "\r\nContent-Length: 3\r\n\r\nabc"),

        // --- methods ---
        c(
            "POST",
            Expect.answers(405),
            "POST " + k + "/k HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        c("DELETE", Expect.answers(405), "DELETE " + k + "/k HTTP/1.1\r\nHost: x\r\n\r\n"),
        c(
            "PATCH with a body",
            Expect.answersThenCloses(405),
            "PATCH " + k + "/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
        c("OPTIONS", Expect.answers(405), "OPTIONS " + k + "/k HTTP/1.1\r\nHost: x\r\n\r\n"),
        c("TRACE", Expect.answers(405), "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"),
        c(
            "CONNECT",
            Expect.answers(400),
            "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"),
        c(
            "an invented method",
            Expect.answers(405),
            "FROB " + k + "/k HTTP/1.1\r\nHost: x\r\n\r\n"),
        c("lower-case get", Expect.answers(405), "get " + k + "/k HTTP/1.1\r\nHost: x\r\n\r\n"),
        c(
            "a method with separators",
            Expect.answersThenCloses(400),
            "G(T / HTTP/1.1\r\nHost: x\r\n\r\n"),
        c(
            "PUT to a service",
            Expect.answers(405),
            "PUT /-/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),

        // --- conditional requests (If-None-Match applies only to a file that exists) ---
        c(
            "If-None-Match: * on a miss",
            Expect.answers(404),
            get(k + "/nope.narinfo", "If-None-Match: *\r\n")),
        c(
            "a malformed If-None-Match",
            Expect.answers(404),
            get(k + "/nope.narinfo", "If-None-Match: \"open, W/\r\n")),
        c(
            "five hundred entity tags",
            Expect.answers(404),
            get(k + "/nope.narinfo", "If-None-Match: " + "W/\"x\", ".repeat(500) + "\"y\"\r\n")),
        c("If-None-Match on the banner", Expect.answers(200), get("/", "If-None-Match: *\r\n")),

        // --- versions and other protocols ---
        c(
            "HTTP/1.0 closes after the answer",
            Expect.answersThenCloses(200),
            "GET / HTTP/1.0\r\n\r\n"),
        c(
            "HTTP/1.0 keep-alive",
            Expect.answers(200, 200),
            "GET / HTTP/1.0\r\n"
                + "Connection: keep-alive\r\n\r\n"
                + "GET /-/health HTTP/1.0\r\n"
                + "Connection: keep-alive\r\n\r\n"),
        c("HTTP/1.0 miss", Expect.answersThenCloses(404), "GET " + k + "/nope HTTP/1.0\r\n\r\n"),
        c("HTTP/0.9 request line", Expect.answersThenCloses(400), "GET /\r\n\r\n"),
        c(
            "HTTP/2.0 in an HTTP/1 request line",
            Expect.answersThenCloses(400),
            "GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        c("an unknown protocol", Expect.answersThenCloses(400), "GET / FOO/1.1\r\nHost: x\r\n\r\n"),
        c("the HTTP/2 preface", Expect.answersThenCloses(400), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        c(
            "a TLS ClientHello",
            Expect.answersThenCloses(400),
            new byte[] {
              0x16,
              0x03,
              0x01,
              0x00,
              (byte) 0xa5,
              0x01,
              0x00,
              0x00,
              (byte) 0xa1,
              0x03,
              0x03,
              0x0d,
              0x0a,
              0x0d,
              0x0a
            }),
        c("empty lines before the request", Expect.answers(200), "\r\n\r\n" + get("/")),
        c("a request that never ends", Expect.closesSilently(), "GET / HTTP/1.1\r\nHost: x\r\n"),
        c("nothing but a partial request line", Expect.closesSilently(), "GET /-/hea"),

        // --- pipelining ---
        c(
            "three pipelined",
            Expect.answers(200, 404, 200),
            get("/-/health") + get("/nope") + get("/")),
        c("fifty pipelined", Expect.answers(fifty()), get("/-/health").repeat(50)),
        c(
            "pipelined after a refused one",
            Expect.answers(400, 404, 200),
            get("/{R}/test/b%ZZ/k") + get(k + "/nope") + get("/")),
        c(
            "pipelined HEAD and GET",
            Expect.answers(200, 200),
            "HEAD /-/health HTTP/1.1\r\nHost: x\r\n\r\n" + get("/-/health")));
  }

  private static int[] fifty() {
    int[] s = new int[50];
    Arrays.fill(s, 200);
    return s;
  }

  private static final Pattern NO_SUCH_KEY =
      Pattern.compile("<Error><Code>NoSuchKey</Code></Error>");

  /** A request signed for S3 is answered in S3's error shape: one XML declaration, one Error. */
  private static final Pattern S3_ERROR =
      Pattern.compile(
          "<\\?xml version=\"1\\.0\" encoding=\"UTF-8\"\\?>\n"
              + "<Error><Code>[A-Za-z]{3,40}</Code><Message>[^\\p{Cntrl}<]{1,600}</Message></Error>");

  @Order(1)
  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void eachBadInputIsA4xxOrTheRightSuccessAndTheServerStaysUp(
      String name, byte[] template, Expect expect) throws Exception {
    byte[] request =
        new String(template, StandardCharsets.ISO_8859_1)
            .replace("{R}", reg)
            .getBytes(StandardCharsets.ISO_8859_1);
    List<RawHttp.Response> got = new ArrayList<>();
    try (RawHttp c = new RawHttp(server.port(), READ_DEADLINE_MILLIS)) {
      try {
        c.write(request);
      } catch (SocketException e) {
        // The server may close on what it read before we finished writing; the answer is still
        // readable.
      }
      boolean firstIsHead = new String(request, StandardCharsets.ISO_8859_1).startsWith("HEAD ");
      for (int i = 0; i < expect.statuses.length; i++) {
        RawHttp.Response r;
        try {
          r = c.read(i == 0 && firstIsHead);
        } catch (RawHttp.Hung e) {
          throw new AssertionError(
              name + ": answer " + (i + 1) + " never came: " + e.getMessage() + "; so far " + got);
        }
        assertNotNull(
            r, name + ": the connection closed before answer " + (i + 1) + "; so far " + got);
        got.add(r);
        checkAnswer(name, r);
        assertEquals(expect.statuses[i], r.status(), name + ": " + r);
      }
      if (expect.closes) {
        // Bounded by the read deadline; how soon within it is not this test's business.
        assertTrue(
            c.closedByServer(), name + ": the server kept the connection open; answers " + got);
        if (!got.isEmpty() && expect.statuses.length > 0) {
          RawHttp.Response last = got.get(got.size() - 1);
          if (last.status() >= 400) {
            assertTrue(
                last.closes(),
                name + ": a closing error answer should say Connection: close: " + last);
          }
        }
      }
    }
    stillServing(name);
  }

  private static void checkAnswer(String name, RawHttp.Response r) {
    assertTrue(r.status() < 500, name + ": a 5xx for bad input: " + r);
    // Every answer is inert and says what a cache may keep (http.CacheHeaders).
    assertEquals("nosniff", r.header("x-content-type-options"), name + ": " + r);
    assertEquals(
        "default-src 'none'; sandbox", r.header("content-security-policy"), name + ": " + r);
    assertNotNull(r.header("cache-control"), name + ": no Cache-Control: " + r);
    assertNotNull(r.header("content-length"), name + ": no Content-Length: " + r);
    String body = r.text();
    assertFalse(body.contains(SECRET), name + ": the body quotes a secret: " + body);
    assertFalse(
        body.contains(b64("user:" + SECRET)), name + ": the body quotes a credential: " + body);
    if (r.status() >= 400) {
      Matcher xml = NO_SUCH_KEY.matcher(body);
      if (!xml.matches() && !S3_ERROR.matcher(body).matches()) {
        assertFalse(body.isBlank(), name + ": an error without a reason: " + r);
        assertEquals(1, body.strip().lines().count(), name + ": not one line: " + body);
        assertTrue(body.length() < 700, name + ": a long body: " + body.length() + " chars");
        for (char ch : body.strip().toCharArray()) {
          assertTrue(ch >= 0x20 && ch != 0x7f, name + ": a control character in the body: " + body);
        }
      }
    }
  }

  private static void stillServing(String after) throws Exception {
    try (RawHttp c = new RawHttp(server.port(), READ_DEADLINE_MILLIS)) {
      c.write(get("/-/health"));
      RawHttp.Response r = c.read();
      assertNotNull(r, "after '" + after + "' the server closed a good request's connection");
      assertEquals(200, r.status(), "after '" + after + "': " + r);
    }
  }

  @Order(2)
  @Test
  void aPipelinedPutIsStoredAndReadBackOnTheSameConnection() throws Exception {
    String path = "/" + reg + "/test/pipelined/k.narinfo";
    byte[] body = "StorePath: /nix/store/x\n".getBytes(StandardCharsets.UTF_8);
    try (RawHttp c = new RawHttp(server.port(), READ_DEADLINE_MILLIS)) {
      c.write(
          bytes(
              "PUT "
                  + path
                  + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-nix-narinfo\r\nContent-Length: "
                  + body.length
                  + "\r\n\r\n",
              body,
              get(path),
              get("/-/health")));
      RawHttp.Response put = c.read();
      RawHttp.Response read = c.read();
      RawHttp.Response health = c.read();
      assertEquals(200, put.status(), String.valueOf(put));
      assertEquals(200, read.status(), String.valueOf(read));
      assertArrayEquals(body, read.body());
      assertEquals(200, health.status());
    }
  }

  /**
   * Slowloris: a request head dripped a byte at a time, each byte well within the idle timeout, is
   * cut off by the idle timeout all the same. The idle clock sits after the HTTP codec, so only a
   * complete head (or body piece) counts as the client moving: a head must arrive whole within one
   * idle timeout.
   */
  @Order(3)
  @Test
  void aRequestHeadDrippedSlowlyIsCutOffByTheIdleTimeout() throws Exception {
    byte[] head =
        get("/-/health", "X-Slow: " + "s".repeat(200) + "\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
    // Dripping the whole head takes over ten idle timeouts: a server that restarted its idle
    // clock on every byte would take it all. Cut off means a write failed before the end.
    assertTrue(head.length * 100L > 10 * IDLE.toMillis(), "head too short: " + head.length);
    try (RawHttp c = new RawHttp(server.port(), READ_DEADLINE_MILLIS)) {
      RawHttp.Response answer;
      int sent = 0;
      boolean cutOff = false;
      for (; sent < head.length - 2 && !cutOff; sent++) {
        try {
          c.write(new byte[] {head[sent]});
          Thread.sleep(100);
        } catch (SocketException closed) {
          cutOff = true;
        }
      }
      assertTrue(cutOff, "the server read the whole dripped head (" + sent + " bytes)");
      answer = c.read();
      assertNull(answer, "expected the connection closed, got " + answer);
      assertTrue(c.closedByServer());
    }
    stillServing("slowloris");
  }

  /** After the whole corpus, the server's own count of 5xx answers is zero. */
  @Order(4)
  @Test
  void noFiveHundredsWereCounted() throws Exception {
    RawHttp.Response metrics;
    try (RawHttp c = new RawHttp(server.port(), READ_DEADLINE_MILLIS)) {
      c.write(get("/-/metrics"));
      metrics = c.read();
    }
    assertEquals(200, metrics.status());
    assertNull(
        firstMatch(Pattern.compile("status=\"5\\d\\d\"\\} [1-9]"), metrics.text()), metrics.text());
  }

  private static String firstMatch(Pattern p, String s) {
    Matcher m = p.matcher(s);
    return m.find() ? m.group() : null;
  }
}
