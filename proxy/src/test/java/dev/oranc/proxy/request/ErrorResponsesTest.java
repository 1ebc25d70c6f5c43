package dev.oranc.proxy.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.OrancException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.error.RegistryException.Unavailable.Reason;
import dev.oranc.proxy.error.ErrorText;
import dev.oranc.proxy.error.Rejection;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.route.AuthorizationParser;
import dev.oranc.proxy.s3.S3Errors;
import dev.oranc.proxy.s3.S3Rejected;
import java.lang.reflect.Modifier;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every kind of error has a deliberate answer: the test walks the sealed hierarchies, so a new kind
 * fails here until it is given a status on purpose.
 */
class ErrorResponsesTest {

  private static final String OP = "GET manifest 127.0.0.1:5000/a/b:tag";

  /** One example of each concrete kind, with the status it must get. */
  private static Map<Throwable, Integer> examples() {
    Map<Throwable, Integer> m = new LinkedHashMap<>();
    m.put(new FormatException("path segment '%ZZ'", "'%' must be followed by two hex digits"), 400);
    m.put(new IntegrityException(OP + ": the registry sent content with digest sha256:00"), 502);
    m.put(new RegistryException.NotFound(OP, "registry answered 404 Not Found"), 404);
    m.put(new RegistryException.Unauthorized(OP, "registry answered 401 Unauthorized"), 401);
    m.put(new RegistryException.Forbidden(OP, "registry answered 403 Forbidden"), 403);
    m.put(new RegistryException.RateLimited(OP, "registry answered 429", 17), 503);
    m.put(
        new RegistryException.Unavailable(
            OP, "cannot connect\nrefused", Reason.UNREACHABLE, 0, null),
        502);
    m.put(new RegistryException.Protocol(OP, "the image has 2 layers"), 502);
    m.put(new RequestRejected.BadRequest("bad"), 400);
    m.put(new RequestRejected.NoSuchRoute("path /x names no cache file"), 404);
    m.put(new RequestRejected.MethodNotAllowed("POST", List.of("GET", "HEAD", "PUT")), 405);
    m.put(new RequestRejected.UriTooLong(8192), 414);
    m.put(new RequestRejected.HeadersTooLarge(16384), 431);
    m.put(new RequestRejected.ShuttingDown(), 503);
    m.put(new RequestRejected.RangeNotSatisfiable("bytes=100-", 10), 416);
    m.put(
        new S3Rejected.BadDigest("the Content-MD5 you specified did not match what was received"),
        400);
    m.put(new S3Rejected.IncompleteBody("the aws-chunked body ended early"), 400);
    m.put(new S3Rejected.NoSuchUpload("no such upload"), 404);
    m.put(new S3Rejected.InvalidPart("part 2 has another ETag"), 400);
    m.put(new S3Rejected.InvalidPartOrder("parts are not ascending"), 400);
    m.put(new S3Rejected.MalformedXml("not XML"), 400);
    m.put(new S3Rejected.SlowDown("the multipart spool is full", 7), 503);
    m.put(new RequestRejected.TooBusy(64), 503);
    m.put(notAllowed(), 403);
    m.put(addressRefused(), 403);
    return m;
  }

  /** The S3 code and status each kind gets for a request signed for S3. */
  private static Map<Throwable, String> s3Examples() {
    Map<Throwable, String> m = new LinkedHashMap<>();
    m.put(
        new FormatException("path segment '%ZZ'", "'%' must be followed by two hex digits"),
        "400 InvalidArgument");
    m.put(
        new FormatException(AuthorizationParser.SUBJECT, "not base64"),
        "400 AuthorizationHeaderMalformed");
    m.put(
        new IntegrityException(OP + ": the registry sent content with digest sha256:00"),
        "502 InternalError");
    m.put(new RegistryException.NotFound(OP, "registry answered 404 Not Found"), "404 NoSuchKey");
    m.put(
        new RegistryException.Unauthorized(OP, "registry answered 401 Unauthorized"),
        "403 InvalidAccessKeyId");
    m.put(
        new RegistryException.Forbidden(OP, "registry answered 403 Forbidden"), "403 AccessDenied");
    m.put(new RegistryException.RateLimited(OP, "registry answered 429", 17), "503 SlowDown");
    m.put(
        new RegistryException.Unavailable(
            OP, "cannot connect\nrefused", Reason.UNREACHABLE, 0, null),
        "503 SlowDown");
    m.put(new RegistryException.Protocol(OP, "the image has 2 layers"), "502 InternalError");
    m.put(new RequestRejected.BadRequest("bad"), "400 InvalidRequest");
    m.put(new RequestRejected.NoSuchRoute("path /x names no cache file"), "404 NoSuchKey");
    m.put(
        new RequestRejected.MethodNotAllowed("POST", List.of("GET", "HEAD", "PUT")),
        "405 MethodNotAllowed");
    m.put(new RequestRejected.UriTooLong(8192), "414 InvalidURI");
    m.put(new RequestRejected.HeadersTooLarge(16384), "431 RequestHeaderSectionTooLarge");
    m.put(new RequestRejected.ShuttingDown(), "503 SlowDown");
    m.put(new RequestRejected.RangeNotSatisfiable("bytes=100-", 10), "416 InvalidRange");
    m.put(new S3Rejected.BadDigest("x"), "400 BadDigest");
    m.put(new S3Rejected.IncompleteBody("x"), "400 IncompleteBody");
    m.put(new S3Rejected.NoSuchUpload("x"), "404 NoSuchUpload");
    m.put(new S3Rejected.InvalidPart("x"), "400 InvalidPart");
    m.put(new S3Rejected.InvalidPartOrder("x"), "400 InvalidPartOrder");
    m.put(new S3Rejected.MalformedXml("x"), "400 MalformedXML");
    m.put(new S3Rejected.SlowDown("x", 7), "503 SlowDown");
    m.put(new RequestRejected.TooBusy(64), "503 SlowDown");
    m.put(notAllowed(), "403 AccessDenied");
    m.put(addressRefused(), "403 AccessDenied");
    return m;
  }

  private static RegistryException.Refused notAllowed() {
    return new RegistryException.Refused(
        "registry evil.example",
        RegistryAllowList.NOT_SERVED,
        RegistryException.Refused.Reason.NOT_ALLOWED,
        null);
  }

  /** The detail names what a hostile registry redirected to: the client must not see it. */
  private static RegistryException.Refused addressRefused() {
    return new RegistryException.Refused(
        OP,
        "refused to connect to internal-credentials.corp:8080: a loopback address",
        RegistryException.Refused.Reason.ADDRESS,
        null);
  }

  @Test
  void aRefusalByPolicyIs403NamingTheFlagAndNeverTheAddressARegistryGave() {
    for (ErrorResponses.ErrorResponse r :
        List.of(ErrorResponses.of(addressRefused()), S3Errors.response(addressRefused()))) {
      assertEquals(403, r.status().code());
      assertTrue(r.body().contains("--allow-registry"), r.body());
      assertFalse(r.body().contains("internal-credentials"), r.body());
      assertFalse(r.body().contains("loopback address"), r.body());
      assertFalse(
          r.serverSide(), "the client's doing; the registry client logs the refusal at warn");
    }
    ErrorResponses.ErrorResponse r = ErrorResponses.of(notAllowed());
    assertEquals("registry evil.example: " + RegistryAllowList.NOT_SERVED, r.body());
    assertTrue(r.body().contains("--allow-registry"), r.body());
  }

  @Test
  void everyKindOfErrorHasADeliberateS3Answer() {
    Set<Class<?>> kinds = new HashSet<>();
    collectConcrete(OrancException.class, kinds);
    collectConcrete(RequestRejected.class, kinds);
    collectConcrete(S3Rejected.class, kinds);
    Set<Class<?>> covered = new HashSet<>();
    s3Examples().keySet().forEach(t -> covered.add(t.getClass()));
    assertEquals(kinds, covered, "every concrete error kind needs an S3 example here");
    s3Examples()
        .forEach(
            (error, expected) -> {
              ErrorResponses.ErrorResponse r = S3Errors.response(error);
              String code = expected.substring(4);
              assertEquals(expected, r.status().code() + " " + code, error.getClass().getName());
              assertEquals("application/xml", r.contentType());
              assertTrue(
                  r.body()
                      .startsWith(
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                              + code
                              + "</Code><Message>"),
                  r.body());
              assertTrue(r.body().endsWith("</Message></Error>"), r.body());
              assertFalse(r.body().substring(r.body().indexOf('\n') + 1).contains("\n"), r.body());
              if (code.equals("SlowDown")) {
                assertTrue(Long.parseLong(r.headers().get("retry-after")) >= 1, error.toString());
              }
            });
  }

  /**
   * One row per kind in each face, none left to the fallback; a rejection carries its answer, so
   * both faces give its status and headers, and the S3 message is the plain body.
   */
  @Test
  void everyKindHasARowInBothFacesAndARejectionAnswersAlikeInBoth() {
    Set<Class<?>> kinds = new HashSet<>();
    collectConcrete(OrancException.class, kinds);
    collectConcrete(RequestRejected.class, kinds);
    collectConcrete(S3Rejected.class, kinds);
    for (Class<?> kind : kinds) {
      Class<? extends Throwable> k = kind.asSubclass(Throwable.class);
      assertTrue(ErrorResponses.hasRowFor(k), "plain face: " + kind.getName());
      assertTrue(S3Errors.hasRowFor(k), "S3 face: " + kind.getName());
    }
    assertFalse(ErrorResponses.hasRowFor(IllegalStateException.class));
    assertFalse(S3Errors.hasRowFor(IllegalStateException.class));
    examples().keySet().stream()
        .filter(t -> t instanceof Rejection)
        .forEach(
            t -> {
              Rejection r = (Rejection) t;
              ErrorResponses.ErrorResponse plain = ErrorResponses.of(r);
              S3Errors.S3Error s3 = S3Errors.of(r);
              assertEquals(r.status(), plain.status(), r.getClass().getName());
              assertEquals(r.status(), s3.status(), r.getClass().getName());
              assertEquals(r.headers(), plain.headers(), r.getClass().getName());
              assertEquals(r.headers(), s3.headers(), r.getClass().getName());
              assertEquals(plain.serverSide(), s3.serverSide(), r.getClass().getName());
              assertEquals(plain.body(), s3.message(), r.getClass().getName());
            });
  }

  @Test
  void aRegistryFailureIsSlowDownWithRetryAfterNeverAMiss() {
    ErrorResponses.ErrorResponse limited =
        S3Errors.response(new RegistryException.RateLimited(OP, "x", 17));
    assertEquals("17", limited.headers().get("retry-after"));
    for (Reason reason : Reason.values()) {
      ErrorResponses.ErrorResponse r =
          S3Errors.response(
              new RegistryException.Unavailable(OP, "answered 503", reason, 503, null));
      assertEquals(503, r.status().code(), reason.name());
      assertTrue(r.body().contains("<Code>SlowDown</Code>"), r.body());
      // docs/SERVER.md: registry 5xx, unreachable, timed out: SlowDown, Retry-After: 5
      assertEquals("5", r.headers().get("retry-after"));
      assertTrue(r.body().contains("127.0.0.1:5000"), r.body());
    }
    assertEquals(
        "7",
        ErrorResponses.of(new S3Rejected.SlowDown("spool full", 7)).headers().get("retry-after"));
    assertEquals(
        "bytes */10",
        S3Errors.response(new RequestRejected.RangeNotSatisfiable("bytes=100-", 10))
            .headers()
            .get("content-range"));
  }

  /** A client at its own allowance is answered like a server in trouble, but not logged at warn. */
  @Test
  void aClientAtItsMultipartLimitIsSlowDownButNotTheServersTrouble() {
    S3Rejected.SlowDown atLimit =
        S3Rejected.SlowDown.clientAtItsLimit("this client has 100 uploads", 5);
    for (ErrorResponses.ErrorResponse r :
        List.of(S3Errors.response(atLimit), ErrorResponses.of(atLimit))) {
      assertEquals(503, r.status().code());
      assertEquals("5", r.headers().get("retry-after"));
      assertFalse(r.serverSide(), "logged at warn");
    }
    assertTrue(S3Errors.response(atLimit).body().contains("<Code>SlowDown</Code>"));
    assertTrue(
        S3Errors.response(new S3Rejected.SlowDown("the multipart spool is full", 5)).serverSide());
  }

  @Test
  void s3MessagesAreEscapedAndInternalErrorsSayNothing() {
    String body = S3Errors.response(new RequestRejected.BadRequest("a <b> & \"c\"")).body();
    assertTrue(body.contains("<Message>a &lt;b&gt; &amp; &quot;c&quot;</Message>"), body);
    ErrorResponses.ErrorResponse r = S3Errors.response(new IllegalStateException("secret detail"));
    assertEquals(500, r.status().code());
    assertFalse(r.body().contains("secret"), r.body());
    assertTrue(r.body().contains("<Code>InternalError</Code>"), r.body());
  }

  @Test
  void everyKindOfErrorHasADeliberateStatus() {
    Set<Class<?>> kinds = new HashSet<>();
    collectConcrete(OrancException.class, kinds);
    collectConcrete(RequestRejected.class, kinds);
    collectConcrete(S3Rejected.class, kinds);
    Map<Throwable, Integer> examples = examples();
    Set<Class<?>> covered = new HashSet<>();
    for (Throwable t : examples.keySet()) {
      covered.add(t.getClass());
    }
    assertEquals(kinds, covered, "every concrete error kind needs an example with its status here");
    examples.forEach(
        (error, status) -> {
          ErrorResponses.ErrorResponse r = ErrorResponses.of(error);
          assertEquals(status, r.status().code(), error.getClass().getName());
          assertNotEquals(500, r.status().code());
          assertFalse(r.body().contains("\n"), r.body());
          assertFalse(r.body().contains("\tat "), r.body());
          assertFalse(r.body().isBlank());
        });
  }

  @Test
  void unavailableRegistriesMapByReason() {
    assertEquals(
        502, status(new RegistryException.Unavailable(OP, "x", Reason.UNREACHABLE, 0, null)));
    assertEquals(
        502, status(new RegistryException.Unavailable(OP, "x", Reason.SERVER_ERROR, 500, null)));
    assertEquals(
        503, status(new RegistryException.Unavailable(OP, "x", Reason.OVERLOADED, 503, null)));
    assertEquals(504, status(new RegistryException.Unavailable(OP, "x", Reason.TIMEOUT, 0, null)));
  }

  @Test
  void headersThatGoWithAStatus() {
    assertEquals(
        "17",
        ErrorResponses.of(new RegistryException.RateLimited(OP, "x", 17))
            .headers()
            .get("retry-after"));
    // docs/SERVER.md: a registry 429 past the budget: the registry's Retry-After, else 10
    assertEquals(
        "10",
        ErrorResponses.of(new RegistryException.RateLimited(OP, "x", -1))
            .headers()
            .get("retry-after"));
    assertEquals(
        "10",
        S3Errors.response(new RegistryException.RateLimited(OP, "x", -1))
            .headers()
            .get("retry-after"));
    assertEquals(
        "2", ErrorResponses.of(new RequestRejected.TooBusy(64)).headers().get("retry-after"));
    assertEquals(
        "GET, HEAD, PUT",
        ErrorResponses.of(
                new RequestRejected.MethodNotAllowed("POST", List.of("GET", "HEAD", "PUT")))
            .headers()
            .get("allow"));
    assertTrue(
        ErrorResponses.of(new RegistryException.Unauthorized(OP, "x"))
            .headers()
            .get("www-authenticate")
            .startsWith("Basic"));
  }

  @Test
  void aMissIsTheS3NoSuchKeyAndARegistryFailureNamesTheRegistry() {
    assertEquals(
        "<Error><Code>NoSuchKey</Code></Error>",
        ErrorResponses.of(new RegistryException.NotFound(OP, "x")).body());
    String body =
        ErrorResponses.of(
                new RegistryException.Unavailable(
                    OP, "answered 500", Reason.SERVER_ERROR, 500, null))
            .body();
    assertTrue(body.contains("127.0.0.1:5000"), body);
  }

  @Test
  void whatARegistrySaidNeverReachesABodyPlainOrS3() {
    String foreign = "SSH-2.0-OpenSSH banner <script>\r\nX: y";
    List<OrancException> errors =
        List.of(
            new RegistryException.NotFound(OP, "registry answered 404 Not Found", foreign),
            new RegistryException.Unauthorized(OP, "registry answered 401 Unauthorized", foreign),
            new RegistryException.Forbidden(OP, "registry answered 403 Forbidden", foreign),
            new RegistryException.RateLimited(
                OP, "registry answered 429 Too Many Requests", foreign, 3),
            new RegistryException.Unavailable(
                OP, "registry answered 500", foreign, Reason.SERVER_ERROR, 500, null),
            new RegistryException.Protocol(
                OP, "the registry's answer is not HTTP we can read", foreign, null),
            new IntegrityException(OP + ": the registry sent other content", foreign));
    for (OrancException e : errors) {
      for (ErrorResponses.ErrorResponse r : List.of(ErrorResponses.of(e), S3Errors.response(e))) {
        assertFalse(
            r.body().contains("SSH") || r.body().contains("script"),
            e.getClass() + ": " + r.body());
        if (r.status().code() != 404 || r.body().contains("Message")) {
          assertTrue(r.body().contains("127.0.0.1:5000"), "names the operation: " + r.body());
        }
      }
      assertTrue(
          ErrorText.detailLine(e).contains("SSH-2.0-OpenSSH banner"),
          "the log has it: " + ErrorText.detailLine(e));
      assertFalse(ErrorText.detailLine(e).contains("\n"), ErrorText.detailLine(e));
    }
  }

  @Test
  void anythingElseIsAnInternalErrorWithoutDetails() {
    ErrorResponses.ErrorResponse r =
        ErrorResponses.of(new IllegalStateException("secret detail at line 3"));
    assertEquals(500, r.status().code());
    assertEquals("internal error", r.body());
  }

  private static int status(Throwable t) {
    return ErrorResponses.of(t).status().code();
  }

  private static void collectConcrete(Class<?> c, Set<Class<?>> out) {
    if (c.isSealed()) {
      for (Class<?> sub : c.getPermittedSubclasses()) {
        collectConcrete(sub, out);
      }
    } else if (!Modifier.isAbstract(c.getModifiers())) {
      out.add(c);
    }
  }
}
