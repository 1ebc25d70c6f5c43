package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cache and inertness headers of file answers from a server in front of real registries ({@code
 * http.CacheHeaders}): an ETag for every client, {@code If-None-Match} answered 304 (GET, HEAD,
 * before a Range, a small cached blob and a streamed one), {@code Cache-Control} by key and
 * credentials, {@code Vary}, {@code nosniff} and the CSP sandbox on files, uploads and errors.
 */
class CacheHeadersServerTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static TestServer server;
  private static TestServer notFoundCaching;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    notFoundCaching =
        TestServer.start(
            b -> b.maxAgeNarinfo(Duration.ofSeconds(7)).maxAgeNotFound(Duration.ofSeconds(30)));
  }

  @AfterAll
  static void stop() {
    server.close();
    notFoundCaching.close();
  }

  private static byte[] random(int n, int seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static String repo(RegistryFlavour flavour) {
    return "/"
        + registries.get(flavour).proxyAddress()
        + "/test/h"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  private static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse(null);
  }

  private static void assertInert(HttpResponse<?> r) {
    assertEquals("nosniff", header(r, "X-Content-Type-Options"), r.toString());
    assertEquals("default-src 'none'; sandbox", header(r, "Content-Security-Policy"), r.toString());
  }

  private static void put(String path, byte[] body, String auth, String type) throws Exception {
    HttpResponse<byte[]> put = server.put(path, body, auth, "Content-Type", type);
    assertEquals(200, put.statusCode(), TestServer.text(put));
    assertEquals("no-store", header(put, "Cache-Control"));
    assertInert(put);
  }

  @Test
  void anonymousNarsAreImmutableAndNarinfosShortLivedEachWithItsDigestAsETag() throws Exception {
    String repo = repo(RegistryFlavour.ANONYMOUS);
    byte[] narinfo = "StorePath: /nix/store/x\n".getBytes();
    byte[] smallNar = random(1000, 1);
    byte[] largeNar = random(300_000, 2); // over --small-blob-size: relayed
    put(repo + "/abc.narinfo", narinfo, null, "text/x-nix-narinfo");
    put(repo + "/nar/small.nar", smallNar, null, "application/x-nix-nar");
    put(repo + "/nar/large.nar", largeNar, null, "application/x-nix-nar");

    for (String method : List.of("GET", "HEAD")) {
      HttpResponse<byte[]> info = server.send(method, repo + "/abc.narinfo", null, null);
      assertEquals(200, info.statusCode());
      assertEquals("public, max-age=60", header(info, "Cache-Control"), method);
      assertEquals("authorization", header(info, "Vary").toLowerCase(), method);
      assertTrue(header(info, "ETag").matches("\"[0-9a-f]{64}\""), header(info, "ETag"));
      assertInert(info);
      for (String nar : List.of("/nar/small.nar", "/nar/large.nar")) {
        HttpResponse<byte[]> r = server.send(method, repo + nar, null, null);
        assertEquals(200, r.statusCode());
        assertEquals(
            "public, max-age=31536000, immutable", header(r, "Cache-Control"), method + nar);
        assertTrue(header(r, "ETag").matches("\"[0-9a-f]{64}\""), header(r, "ETag"));
        assertInert(r);
      }
    }
    HttpResponse<byte[]> range =
        server.send("GET", repo + "/nar/large.nar", null, null, "Range", "bytes=0-9");
    assertEquals(206, range.statusCode());
    assertEquals("public, max-age=31536000, immutable", header(range, "Cache-Control"));

    HttpResponse<byte[]> shorter = notFoundCaching.get(repo + "/abc.narinfo", null);
    assertEquals("public, max-age=7", header(shorter, "Cache-Control"), "--max-age-narinfo");
  }

  @Test
  void aMatchingIfNoneMatchIs304WithTheValidatorsAndNoBody() throws Exception {
    String repo = repo(RegistryFlavour.ANONYMOUS);
    byte[] small = random(2000, 3);
    byte[] large = random(200_000, 4);
    put(repo + "/k.narinfo", small, null, "text/x-nix-narinfo");
    put(repo + "/nar/big.nar", large, null, "application/x-nix-nar");
    for (String path : List.of(repo + "/k.narinfo", repo + "/nar/big.nar")) {
      HttpResponse<byte[]> full = server.get(path, null);
      String etag = header(full, "ETag");
      String cacheControl = header(full, "Cache-Control");
      for (String ifNoneMatch : List.of(etag, "W/" + etag, "\"other\", " + etag, "*")) {
        for (String method : List.of("GET", "HEAD")) {
          HttpResponse<byte[]> r =
              server.send(method, path, null, null, "If-None-Match", ifNoneMatch);
          assertEquals(304, r.statusCode(), method + " " + ifNoneMatch);
          assertEquals(0, r.body().length);
          assertEquals(etag, header(r, "ETag"));
          assertEquals(cacheControl, header(r, "Cache-Control"));
          assertEquals("authorization", header(r, "Vary").toLowerCase());
          assertInert(r);
        }
      }
      // If-None-Match comes before Range.
      HttpResponse<byte[]> ranged =
          server.send("GET", path, null, null, "If-None-Match", etag, "Range", "bytes=0-9");
      assertEquals(304, ranged.statusCode());
      HttpResponse<byte[]> other =
          server.send("GET", path, null, null, "If-None-Match", "\"" + "0".repeat(64) + "\"");
      assertEquals(200, other.statusCode());
      assertArrayEquals(path.endsWith(".narinfo") ? small : large, other.body());
      // The connection stays usable after a 304 (its Content-Length is the file's, its body none).
      HttpResponse<byte[]> after = server.get(path, null);
      assertEquals(200, after.statusCode());
    }
  }

  @Test
  void answersToCredentialsArePrivateAndTheirErrorsNotStored() throws Exception {
    Registry basic = registries.get(RegistryFlavour.BASIC);
    String repo = repo(RegistryFlavour.BASIC);
    String alice = TestServer.basic(Registry.USER, Registry.PASSWORD);
    put(repo + "/p.narinfo", "private".getBytes(), alice, "text/x-nix-narinfo");
    put(repo + "/nar/p.nar", random(500, 5), alice, "application/x-nix-nar");

    HttpResponse<byte[]> info = server.get(repo + "/p.narinfo", alice);
    assertEquals(200, info.statusCode());
    assertEquals("private, max-age=60", header(info, "Cache-Control"));
    assertEquals("authorization", header(info, "Vary").toLowerCase());
    HttpResponse<byte[]> nar = server.send("HEAD", repo + "/nar/p.nar", null, alice);
    assertEquals("private, max-age=31536000, immutable", header(nar, "Cache-Control"));
    HttpResponse<byte[]> notModified =
        server.send("GET", repo + "/p.narinfo", null, alice, "If-None-Match", header(info, "ETag"));
    assertEquals(304, notModified.statusCode());
    assertEquals("private, max-age=60", header(notModified, "Cache-Control"));

    HttpResponse<byte[]> anonymous = server.get(repo + "/p.narinfo", null);
    assertEquals(401, anonymous.statusCode(), basic.address());
    assertEquals("no-store", header(anonymous, "Cache-Control"));
    assertInert(anonymous);
    HttpResponse<byte[]> missing = notFoundCaching.get(repo + "/none.narinfo", alice);
    assertEquals(404, missing.statusCode());
    assertEquals(
        "no-store", header(missing, "Cache-Control"), "a 404 to credentials is never stored");
    assertInert(missing);
  }

  @Test
  void anAnonymous404IsNotStoredUnlessConfigured() throws Exception {
    String repo = repo(RegistryFlavour.ANONYMOUS);
    HttpResponse<byte[]> missing = server.get(repo + "/none.narinfo", null);
    assertEquals(404, missing.statusCode());
    assertEquals("no-store", header(missing, "Cache-Control"));
    assertInert(missing);
    HttpResponse<byte[]> configured = notFoundCaching.get(repo + "/none.narinfo", null);
    assertEquals(404, configured.statusCode());
    assertEquals("public, max-age=30", header(configured, "Cache-Control"));
    assertEquals("authorization", header(configured, "Vary").toLowerCase());
  }

  @Test
  void anUploadedHtmlPageComesBackWithItsTypeButSandboxed() throws Exception {
    String repo = repo(RegistryFlavour.ANONYMOUS);
    put(repo + "/page.html", "<script>alert(1)</script>".getBytes(), null, "text/html");
    HttpResponse<byte[]> page = server.get(repo + "/page.html", null);
    assertEquals(200, page.statusCode());
    assertEquals("text/html", header(page, "Content-Type"));
    assertInert(page);
  }
}
