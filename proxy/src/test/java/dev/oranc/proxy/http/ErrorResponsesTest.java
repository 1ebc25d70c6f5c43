package dev.oranc.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.OrancException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.error.RegistryException.Unavailable.Reason;
import dev.oranc.proxy.route.RequestRejected;
import java.lang.reflect.Modifier;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every kind of error has a deliberate answer: the test walks the sealed hierarchies, so a new
 * kind fails here until it is given a status on purpose.
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
    m.put(new RegistryException.Unavailable(OP, "cannot connect\nrefused", Reason.UNREACHABLE, 0, null), 502);
    m.put(new RegistryException.Protocol(OP, "the image has 2 layers"), 502);
    m.put(new RequestRejected.BadRequest("bad"), 400);
    m.put(new RequestRejected.NoSuchRoute("path /x names no cache file"), 404);
    m.put(new RequestRejected.MethodNotAllowed("POST", List.of("GET", "HEAD", "PUT")), 405);
    m.put(new RequestRejected.UriTooLong(8192), 414);
    m.put(new RequestRejected.HeadersTooLarge(16384), 431);
    m.put(new RequestRejected.ShuttingDown(), 503);
    m.put(new RequestRejected.TooBusy(64), 503);
    return m;
  }

  @Test
  void everyKindOfErrorHasADeliberateStatus() {
    Set<Class<?>> kinds = new HashSet<>();
    collectConcrete(OrancException.class, kinds);
    collectConcrete(RequestRejected.class, kinds);
    Map<Throwable, Integer> examples = examples();
    Set<Class<?>> covered = new HashSet<>();
    for (Throwable t : examples.keySet()) {
      covered.add(t.getClass());
    }
    assertEquals(kinds, covered, "every concrete error kind needs an example with its status here");
    examples.forEach((error, status) -> {
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
    assertEquals(502, status(new RegistryException.Unavailable(OP, "x", Reason.UNREACHABLE, 0, null)));
    assertEquals(502, status(new RegistryException.Unavailable(OP, "x", Reason.SERVER_ERROR, 500, null)));
    assertEquals(503, status(new RegistryException.Unavailable(OP, "x", Reason.OVERLOADED, 503, null)));
    assertEquals(504, status(new RegistryException.Unavailable(OP, "x", Reason.TIMEOUT, 0, null)));
  }

  @Test
  void headersThatGoWithAStatus() {
    assertEquals("17", ErrorResponses.of(new RegistryException.RateLimited(OP, "x", 17)).headers().get("retry-after"));
    assertEquals(String.valueOf(ErrorResponses.DEFAULT_RETRY_AFTER_SECONDS),
        ErrorResponses.of(new RegistryException.RateLimited(OP, "x", -1)).headers().get("retry-after"));
    assertEquals("2", ErrorResponses.of(new RequestRejected.TooBusy(64)).headers().get("retry-after"));
    assertEquals("GET, HEAD, PUT",
        ErrorResponses.of(new RequestRejected.MethodNotAllowed("POST", List.of("GET", "HEAD", "PUT"))).headers().get("allow"));
    assertTrue(ErrorResponses.of(new RegistryException.Unauthorized(OP, "x")).headers().get("www-authenticate").startsWith("Basic"));
  }

  @Test
  void aMissIsTheS3NoSuchKeyAndARegistryFailureNamesTheRegistry() {
    assertEquals("<Error><Code>NoSuchKey</Code></Error>", ErrorResponses.of(new RegistryException.NotFound(OP, "x")).body());
    String body = ErrorResponses.of(new RegistryException.Unavailable(OP, "answered 500", Reason.SERVER_ERROR, 500, null)).body();
    assertTrue(body.contains("127.0.0.1:5000"), body);
  }

  @Test
  void anythingElseIsAnInternalErrorWithoutDetails() {
    ErrorResponses.ErrorResponse r = ErrorResponses.of(new IllegalStateException("secret detail at line 3"));
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
