package dev.oranc.proxy.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.proxy.error.RequestRejected;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
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
        "/ghcr.io/owner/cache/abc.narinfo                | ghcr.io        | owner/cache |"
            + " abc.narinfo",
        "/ghcr.io/owner/cache/nar/x.nar.zst              | ghcr.io        | owner/cache |"
            + " nar/x.nar.zst",
        "/127.0.0.1:5000/a/b/nix-cache-info              | 127.0.0.1:5000 | a/b         |"
            + " nix-cache-info",
        "/127.0.0.1%3A5000/a/b/nix-cache-info            | 127.0.0.1:5000 | a/b         |"
            + " nix-cache-info",
        "/r.io/a/b/realisations/sha256:ab%21out.doi      | r.io           | a/b         |"
            + " realisations/sha256:ab!out.doi",
        "/r.io/a/b/log/x%2Fy                             | r.io           | a/b         | log/x/y",
        "/r.io/a/b/caf%C3%A9                             | r.io           | a/b         | café",
        "/r.io/a/b/k?registry=other.io                   | other.io       | r.io/a      | b/k",
        "/r.io/x/k?repository=owner/cache                | r.io           | owner/cache | x/k",
        "/x/k?registry=r.io&repository=o/c               | r.io           | o/c         | x/k",
        "http://host:8080/r.io/a/b/k                     | r.io           | a/b         | k",
      })
  void pathsAndQueriesGiveRegistryRepositoryAndKey(
      String target, String registry, String repository, String key) {
    Route.File f = file("GET", target);
    assertEquals(RepositoryRef.of(registry, repository), f.repository());
    assertEquals(key, f.key());
    assertTrue(f.credentials().isAnonymous());
  }

  /**
   * The key families as Nix sends them, raw (Nix before 2.32) and percent-encoded (2.32 and later:
   * every byte outside {@code A-Za-z0-9-._~:@}, '/' included when a whole key is encoded), name the
   * same key; '+' in a path is a plus, never a space.
   */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "realisations/sha256:0a1b!out.doi | realisations/sha256:0a1b%21out.doi |"
            + " realisations%2Fsha256%3A0a1b%21out.doi",
        "build-trace-v2/0vz5-gtk+3.drv/dev.doi | build-trace-v2/0vz5-gtk%2B3.drv/dev.doi |"
            + " build-trace-v2%2F0vz5-gtk%2B3.drv%2Fdev.doi",
        "log/0vz5-gtk+3_x.drv | log/0vz5-gtk%2B3_x.drv | log%2F0vz5-gtk%2B3_x.drv",
        "0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5.ls | 0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5.ls |"
            + " 0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5.ls",
      })
  void rawAndPercentEncodedKeysAreTheSameKey(String raw, String encoded, String wholeKeyEncoded) {
    for (String method : List.of("GET", "HEAD", "PUT")) {
      for (String spelling : List.of(raw, encoded, wholeKeyEncoded)) {
        assertEquals(raw, file(method, "/r.io/a/b/" + spelling).key(), method + " " + spelling);
      }
    }
  }

  /** debuginfo/<build id> is debuginfo/<build id>.debug, for reads and writes; nothing else is. */
  @Test
  void aDebuginfoKeyWithoutItsSuffixNamesTheDebugKey() {
    String id = "0123456789abcdef0123456789abcdef01234567";
    for (String method : List.of("GET", "HEAD", "PUT")) {
      assertEquals("debuginfo/" + id + ".debug", file(method, "/r.io/a/b/debuginfo/" + id).key());
      assertEquals(
          "debuginfo/" + id + ".debug", file(method, "/r.io/a/b/debuginfo/" + id + ".debug").key());
      assertEquals("debuginfo/" + id + ".debug", file(method, "/r.io/a/b/debuginfo%2F" + id).key());
    }
    // Not 40 lower-case hex digits, or not under debuginfo/: the key as it is.
    for (String other :
        List.of(
            "debuginfo/" + id.substring(1),
            "debuginfo/" + id + "0",
            "debuginfo/" + id.toUpperCase(Locale.ROOT),
            "x/debuginfo/" + id,
            "debuginfo/" + id + ".x")) {
      assertEquals(other, file("GET", "/r.io/a/b/" + other).key());
    }
  }

  @Test
  void repositoryPartsIsConfigurable() {
    Route.File f =
        assertInstanceOf(
            Route.File.class,
            new Router(3, TagCodec.DEFAULT).route("PUT", "/r.io/a/b/c/nar/x", null));
    assertEquals("a/b/c", f.repository().repository());
    assertEquals("nar/x", f.key());
    assertEquals(Route.Method.PUT, f.method());
    f =
        assertInstanceOf(
            Route.File.class, new Router(1, TagCodec.DEFAULT).route("HEAD", "/r.io/a/b/c", null));
    assertEquals("a", f.repository().repository());
    assertEquals("b/c", f.key());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/r.io",
        "/r.io/a",
        "/r.io/a/b",
        "/r.io/a/b/",
        "/r.io/a?x=1",
        "/r.io?repository=a/b"
      })
  void aPathWithoutAKeyIsNotFound(String target) {
    RequestRejected.NoSuchRoute e =
        assertThrows(RequestRejected.NoSuchRoute.class, () -> router.route("GET", target, null));
    assertTrue(e.getMessage().contains("REGISTRY"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/r.io/A/b/k",
        "/bad_host!/a/b/k",
        "/r.io/a//k",
        "/r.io%ZZ/a/b/k",
        "/r.io/a%4/b/k",
        "/r.io/a/b%C3%28/k",
        "/r.io/a%00/b/k",
        "/r.io/a/b/k?repository=%ZZ"
      })
  void aMalformedRegistryOrRepositoryIsABadRequest(String target) {
    for (String method : List.of("GET", "HEAD", "PUT")) {
      FormatException e =
          assertThrows(FormatException.class, () -> router.route(method, target, null));
      assertFalse(e.getMessage().contains("\n"));
    }
  }

  /**
   * A key nothing can store is not in the cache: a GET or HEAD is a 404 (Nix reads only 404, 403
   * and 410 as "absent"), a PUT or a multipart upload a 400 naming what is wrong.
   */
  @ParameterizedTest
  @ValueSource(strings = {"%ZZ", "%4", "a/%C3%28", "%ED%A0%80", "a%00b", "log/a%0Ab", "%1B%5B31m"})
  void aKeyThatCannotExistIsNotFoundForReadsAndABadRequestForWrites(String key) {
    String target = "/r.io/a/b/" + key;
    for (String method : List.of("GET", "HEAD")) {
      RequestRejected.NoSuchRoute e =
          assertThrows(RequestRejected.NoSuchRoute.class, () -> router.route(method, target, null));
      assertTrue(e.getMessage().startsWith("no such key"), e.getMessage());
      assertFalse(
          e.getMessage().contains("\n") || e.getMessage().contains("\u001b"), e.getMessage());
    }
    assertThrows(FormatException.class, () -> router.route("PUT", target, null));
    assertThrows(FormatException.class, () -> router.route("POST", target + "?uploads", null));
    assertThrows(
        FormatException.class,
        () -> router.route("PUT", target + "?partNumber=1&uploadId=u", null));
    // An unreadable Authorization header is the first thing a client hears of.
    assertThrows(FormatException.class, () -> router.route("GET", target, "Basic !!!"));
  }

  /** A key whose tag would be over 128 characters is routed: it has a hashed tag. */
  @ParameterizedTest
  @ValueSource(strings = {"GET", "HEAD", "PUT"})
  void aKeyTooLongForATagIsRouted(String method) {
    String key = "é".repeat(40) + "/" + "x".repeat(300);
    assertEquals(
        key, file(method, "/r.io/a/b/" + "%C3%A9".repeat(40) + "/" + "x".repeat(300)).key());
  }

  @Test
  void servicesAndBanner() {
    assertInstanceOf(Route.Banner.class, router.route("GET", "/", null));
    assertInstanceOf(Route.Banner.class, router.route("HEAD", "/?x", null));
    assertInstanceOf(Route.Health.class, router.route("GET", "/-/health", null));
    assertInstanceOf(Route.Metrics.class, router.route("GET", "/-/metrics", null));
    assertThrows(RequestRejected.NoSuchRoute.class, () -> router.route("GET", "/-/other", null));
    RequestRejected.MethodNotAllowed m =
        assertThrows(
            RequestRejected.MethodNotAllowed.class, () -> router.route("PUT", "/-/metrics", null));
    assertEquals(List.of("GET", "HEAD"), m.allowed());
  }

  @ParameterizedTest
  @ValueSource(strings = {"POST", "DELETE", "OPTIONS", "PATCH", "get"})
  void otherMethodsAreNotAllowed(String method) {
    RequestRejected.MethodNotAllowed m =
        assertThrows(
            RequestRejected.MethodNotAllowed.class,
            () -> router.route(method, "/r.io/a/b/k", null));
    assertEquals(List.of("GET", "HEAD", "PUT"), m.allowed());
  }

  @Test
  void credentialsComeFromTheAuthorizationHeader() {
    String basic =
        "Basic " + Base64.getEncoder().encodeToString("u:p".getBytes(StandardCharsets.UTF_8));
    Route.File f = assertInstanceOf(Route.File.class, router.route("GET", "/r.io/a/b/k", basic));
    assertEquals(Credentials.basic("u", "p"), f.credentials());
    assertFalse(f.toString().contains("u:p"));
    assertThrows(FormatException.class, () -> router.route("GET", "/r.io/a/b/k", "Basic !!!"));
  }

  @Test
  void s3MultipartOperationsAreRoutedByMethodAndQuery() {
    Route.Multipart create =
        assertInstanceOf(
            Route.Multipart.class, router.route("POST", "/r.io/a/b/nar/x.nar?uploads", null));
    assertEquals(Route.Multipart.Operation.CREATE, create.operation());
    assertEquals("nar/x.nar", create.key());
    assertEquals(null, create.uploadId());
    assertEquals(
        Route.Multipart.Operation.CREATE,
        ((Route.Multipart)
                router.route("POST", "/r.io/a/b/k?uploads=&x-id=CreateMultipartUpload", null))
            .operation());

    Route.Multipart part =
        assertInstanceOf(
            Route.Multipart.class,
            router.route(
                "PUT", "/r.io/a/b/nar/x.nar?partNumber=7&uploadId=Ab-_9&x-id=UploadPart", null));
    assertEquals(Route.Multipart.Operation.PART, part.operation());
    assertEquals(7, part.partNumber());
    assertEquals("Ab-_9", part.uploadId());
    assertFalse(part.toString().contains("Ab-_9"), "the upload id is not printed");

    assertEquals(
        Route.Multipart.Operation.COMPLETE,
        ((Route.Multipart) router.route("POST", "/r.io/a/b/k?uploadId=u", null)).operation());
    assertEquals(
        Route.Multipart.Operation.ABORT,
        ((Route.Multipart) router.route("DELETE", "/r.io/a/b/k?uploadId=u", null)).operation());
    // Without the multipart query a file keeps its methods.
    assertInstanceOf(Route.File.class, router.route("PUT", "/r.io/a/b/k?x-id=PutObject", null));
    assertThrows(
        RequestRejected.MethodNotAllowed.class, () -> router.route("POST", "/r.io/a/b/k", null));
    assertThrows(
        RequestRejected.MethodNotAllowed.class, () -> router.route("DELETE", "/r.io/a/b/k", null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "10001", "-1", "x", ""})
  void aPartNumberOutsideOneToTenThousandIsRefused(String n) {
    assertThrows(
        FormatException.class,
        () -> router.route("PUT", "/r.io/a/b/k?partNumber=" + n + "&uploadId=u", null));
  }

  @Test
  void malformedMultipartRequestsAreRefused() {
    assertThrows(
        RequestRejected.BadRequest.class,
        () -> router.route("PUT", "/r.io/a/b/k?uploadId=u", null));
    assertThrows(
        RequestRejected.BadRequest.class,
        () -> router.route("POST", "/r.io/a/b/k?uploadId=", null));
    assertThrows(
        RequestRejected.MethodNotAllowed.class,
        () -> router.route("GET", "/r.io/a/b/k?uploadId=u", null));
    assertThrows(
        RequestRejected.NoSuchRoute.class, () -> router.route("POST", "/r.io/a/b?uploads", null));
  }
}
