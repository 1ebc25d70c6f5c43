package dev.oranc.proxy.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.registry.Credentials;
import dev.oranc.common.registry.RepositoryRef;
import dev.oranc.common.tag.TagCodec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RouterTest {

  private final Router router = new Router(2, TagCodec.DEFAULT);

  private Route.File file(String method, String target) {
    return assertInstanceOf(Route.File.class, router.route(method, target, null));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "/ghcr.io/owner/cache/abc.narinfo                | ghcr.io        | owner/cache | abc.narinfo",
        "/ghcr.io/owner/cache/nar/x.nar.zst              | ghcr.io        | owner/cache | nar/x.nar.zst",
        "/127.0.0.1:5000/a/b/nix-cache-info              | 127.0.0.1:5000 | a/b         | nix-cache-info",
        "/127.0.0.1%3A5000/a/b/nix-cache-info            | 127.0.0.1:5000 | a/b         | nix-cache-info",
        "/r.io/a/b/realisations/sha256:ab%21out.doi      | r.io           | a/b         | realisations/sha256:ab!out.doi",
        "/r.io/a/b/log/x%2Fy                             | r.io           | a/b         | log/x/y",
        "/r.io/a/b/caf%C3%A9                             | r.io           | a/b         | café",
        "/r.io/a/b/k?registry=other.io                   | other.io       | r.io/a      | b/k",
        "/r.io/x/k?repository=owner/cache                | r.io           | owner/cache | x/k",
        "/x/k?registry=r.io&repository=o/c               | r.io           | o/c         | x/k",
        "http://host:8080/r.io/a/b/k                     | r.io           | a/b         | k",
      })
  void pathsAndQueriesGiveRegistryRepositoryAndKey(String target, String registry, String repository, String key) {
    Route.File f = file("GET", target);
    assertEquals(RepositoryRef.of(registry, repository), f.repository());
    assertEquals(key, f.key());
    assertTrue(f.credentials().isAnonymous());
  }

  @Test
  void repositoryPartsIsConfigurable() {
    Route.File f = assertInstanceOf(Route.File.class,
        new Router(3, TagCodec.DEFAULT).route("PUT", "/r.io/a/b/c/nar/x", null));
    assertEquals("a/b/c", f.repository().repository());
    assertEquals("nar/x", f.key());
    assertEquals(Route.Method.PUT, f.method());
    f = assertInstanceOf(Route.File.class, new Router(1, TagCodec.DEFAULT).route("HEAD", "/r.io/a/b/c", null));
    assertEquals("a", f.repository().repository());
    assertEquals("b/c", f.key());
  }

  @ParameterizedTest
  @ValueSource(strings = {"/r.io", "/r.io/a", "/r.io/a/b", "/r.io/a/b/", "/r.io/a?x=1", "/r.io?repository=a/b"})
  void aPathWithoutAKeyIsNotFound(String target) {
    RequestRejected.NoSuchRoute e = assertThrows(RequestRejected.NoSuchRoute.class, () -> router.route("GET", target, null));
    assertTrue(e.getMessage().contains("REGISTRY"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"/r.io/a/b/%ZZ", "/r.io/a/b/%4", "/r.io/a/b/%C3%28", "/r.io/A/b/k", "/bad_host!/a/b/k",
      "/r.io/a//k", "/r.io/a/b/" + "x"})
  void malformedPathsAreBadRequests(String target) {
    if (target.endsWith("/x")) {
      // A key whose tag would be over 128 characters.
      target = "/r.io/a/b/" + "é".repeat(40);
    }
    String t = target;
    FormatException e = assertThrows(FormatException.class, () -> router.route("GET", t, null));
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void servicesAndBanner() {
    assertInstanceOf(Route.Banner.class, router.route("GET", "/", null));
    assertInstanceOf(Route.Banner.class, router.route("HEAD", "/?x", null));
    assertInstanceOf(Route.Health.class, router.route("GET", "/-/health", null));
    assertInstanceOf(Route.Metrics.class, router.route("GET", "/-/metrics", null));
    assertThrows(RequestRejected.NoSuchRoute.class, () -> router.route("GET", "/-/other", null));
    RequestRejected.MethodNotAllowed m =
        assertThrows(RequestRejected.MethodNotAllowed.class, () -> router.route("PUT", "/-/metrics", null));
    assertEquals(List.of("GET", "HEAD"), m.allowed());
  }

  @ParameterizedTest
  @ValueSource(strings = {"POST", "DELETE", "OPTIONS", "PATCH", "get"})
  void otherMethodsAreNotAllowed(String method) {
    RequestRejected.MethodNotAllowed m =
        assertThrows(RequestRejected.MethodNotAllowed.class, () -> router.route(method, "/r.io/a/b/k", null));
    assertEquals(List.of("GET", "HEAD", "PUT"), m.allowed());
  }

  @Test
  void credentialsComeFromTheAuthorizationHeader() {
    String basic = "Basic " + Base64.getEncoder().encodeToString("u:p".getBytes(StandardCharsets.UTF_8));
    Route.File f = assertInstanceOf(Route.File.class, router.route("GET", "/r.io/a/b/k", basic));
    assertEquals(Credentials.basic("u", "p"), f.credentials());
    assertFalse(f.toString().contains("u:p"));
    assertThrows(FormatException.class, () -> router.route("GET", "/r.io/a/b/k", "Basic !!!"));
  }
}
