package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Nginx;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The caching nginx block of docs/OPERATIONS.md ("A caching proxy in front"), read from the
 * document and run as written — only the listen address, the certificate, the cache directory and
 * oranc's port are replaced — in front of an oranc server and real registries. Through real nginx
 * {@code proxy_cache}:
 *
 * <ul>
 *   <li>Alice's credentialed narinfo (a registry that wants Basic credentials) is never stored: the
 *       anonymous request after it gets oranc's own 401, not her file from the cache;
 *   <li>an anonymous NAR is a MISS, then a HIT with the same bytes;
 *   <li>an anonymous 404 is not stored: once the file is uploaded the next GET finds it;
 *   <li>an expired narinfo is revalidated: nginx sends {@code If-None-Match}, oranc answers 304,
 *       nginx says REVALIDATED.
 * </ul>
 */
class CachingProxyIT {

  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  @TempDir static Path tmp;

  private static TestServer oranc;
  private static Nginx nginx;
  private static int port;
  private static HttpClient https;

  @BeforeAll
  static void startOrancAndNginx() throws Exception {
    // A one-second narinfo lifetime, so that revalidation can be seen without waiting a minute.
    oranc = TestServer.start(b -> b.maxAgeNarinfo(Duration.ofSeconds(1)));
    Path cert = tmp.resolve("cert.pem");
    Path key = tmp.resolve("key.pem");
    Process openssl =
        new ProcessBuilder(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                key.toString(),
                "-out",
                cert.toString())
            .redirectErrorStream(true)
            .start();
    String made = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), made);

    port = freePort();
    String block = codeBlockAfter("### A caching proxy in front", "nginx");
    String site =
        replaceOnce(block, "server 127.0.0.1:8080;", "server 127.0.0.1:" + oranc.port() + ";");
    site = replaceOnce(site, "listen 443 ssl http2;", "listen 127.0.0.1:" + port + " ssl http2;");
    site = site.replaceAll("ssl_certificate +\\S+;", "ssl_certificate " + cert + ";");
    site = site.replaceAll("ssl_certificate_key +\\S+;", "ssl_certificate_key " + key + ";");
    Path dir = tmp.resolve("nginx");
    site =
        replaceOnce(
            site,
            "proxy_cache_path /var/cache/nginx/oranc ",
            "proxy_cache_path " + dir.resolve("cache") + " ");
    nginx = Nginx.start(dir, site, port);

    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(cert)) {
      trust.setCertificateEntry(
          "nginx", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    https =
        HttpClient.newBuilder()
            .sslContext(tls)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  @AfterAll
  static void stop() {
    if (nginx != null) {
      nginx.close();
    }
    if (oranc != null) {
      oranc.close();
    }
  }

  private static HttpResponse<byte[]> viaNginx(String path, String authorization) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(30))
            .GET();
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return https.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String cacheStatus(HttpResponse<?> r) {
    return r.headers().firstValue("X-Cache-Status").orElse("(none)");
  }

  private static String repo(RegistryFlavour flavour) {
    return "/"
        + registries.get(flavour).proxyAddress()
        + "/test/c"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void aliceCredentialedNarinfoIsNeverServedToAnAnonymousClient() throws Exception {
    String repo = repo(RegistryFlavour.BASIC);
    String alice = TestServer.basic(Registry.USER, Registry.PASSWORD);
    byte[] secret = "StorePath: /nix/store/alice-only\n".getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> put =
        oranc.put(repo + "/alice.narinfo", secret, alice, "Content-Type", "text/x-nix-narinfo");
    assertEquals(200, put.statusCode(), TestServer.text(put));

    HttpResponse<byte[]> first = viaNginx(repo + "/alice.narinfo", alice);
    assertEquals(200, first.statusCode(), TestServer.text(first));
    assertArrayEquals(secret, first.body());
    assertEquals("MISS", cacheStatus(first));
    assertTrue(
        first.headers().firstValue("Cache-Control").orElse("").startsWith("private"),
        first.headers().toString());

    HttpResponse<byte[]> anonymous = viaNginx(repo + "/alice.narinfo", null);
    assertEquals(
        401,
        anonymous.statusCode(),
        "oranc's own answer, not Alice's file: " + TestServer.text(anonymous));
    assertNotEquals("HIT", cacheStatus(anonymous));
    assertTrue(!TestServer.text(anonymous).contains("alice-only"), TestServer.text(anonymous));

    HttpResponse<byte[]> again = viaNginx(repo + "/alice.narinfo", alice);
    assertEquals(200, again.statusCode());
    assertEquals("MISS", cacheStatus(again), "a private answer is not stored at all");
  }

  @Test
  void anAnonymousNarIsAHitTheSecondTime() throws Exception {
    String repo = repo(RegistryFlavour.ANONYMOUS);
    byte[] nar = new byte[300_000];
    new Random(7).nextBytes(nar);
    HttpResponse<byte[]> put =
        oranc.put(repo + "/nar/abc.nar.zst", nar, null, "Content-Type", "application/x-nix-nar");
    assertEquals(200, put.statusCode(), TestServer.text(put));

    HttpResponse<byte[]> first = viaNginx(repo + "/nar/abc.nar.zst", null);
    assertEquals(200, first.statusCode());
    assertEquals("MISS", cacheStatus(first));
    assertArrayEquals(nar, first.body());
    registries.get(RegistryFlavour.ANONYMOUS).resetCounters();
    HttpResponse<byte[]> second = viaNginx(repo + "/nar/abc.nar.zst", null);
    assertEquals(200, second.statusCode());
    assertEquals("HIT", cacheStatus(second));
    assertArrayEquals(nar, second.body());
    assertEquals(
        0,
        registries.get(RegistryFlavour.ANONYMOUS).proxiedRequests("GET", ".*").size(),
        "served from nginx's cache: nothing reached the registry");
  }

  @Test
  void a404IsNotCached() throws Exception {
    String repo = repo(RegistryFlavour.ANONYMOUS);
    HttpResponse<byte[]> missing = viaNginx(repo + "/late.narinfo", null);
    assertEquals(404, missing.statusCode());
    HttpResponse<byte[]> stillMissing = viaNginx(repo + "/late.narinfo", null);
    assertEquals(404, stillMissing.statusCode());
    assertNotEquals("HIT", cacheStatus(stillMissing));

    byte[] late = "StorePath: /nix/store/late\n".getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> put =
        oranc.put(repo + "/late.narinfo", late, null, "Content-Type", "text/x-nix-narinfo");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    // oranc's own negative cache is a few seconds (layerCacheNegativeTtl); a PUT through it drops
    // it.
    HttpResponse<byte[]> found = viaNginx(repo + "/late.narinfo", null);
    assertEquals(200, found.statusCode(), "a stored 404 would hide the new file");
    assertArrayEquals(late, found.body());
  }

  @Test
  void anExpiredNarinfoIsRevalidatedWithItsETag() throws Exception {
    String repo = repo(RegistryFlavour.ANONYMOUS);
    byte[] info = "StorePath: /nix/store/revalidated\n".getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> put =
        oranc.put(repo + "/r.narinfo", info, null, "Content-Type", "text/x-nix-narinfo");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    HttpResponse<byte[]> first = viaNginx(repo + "/r.narinfo", null);
    assertEquals("MISS", cacheStatus(first));
    assertEquals("public, max-age=1", first.headers().firstValue("Cache-Control").orElse(null));
    // The entry expires after a second; the first GET after that is revalidated (oranc's 304).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    String status;
    do {
      Thread.sleep(200);
      HttpResponse<byte[]> r = viaNginx(repo + "/r.narinfo", null);
      assertEquals(200, r.statusCode());
      assertArrayEquals(info, r.body());
      status = cacheStatus(r);
      assertTrue(List.of("HIT", "REVALIDATED").contains(status), status);
    } while (!status.equals("REVALIDATED") && System.nanoTime() < deadline);
    assertEquals("REVALIDATED", status);
  }

  /** The first fenced {@code language} block after {@code heading} in docs/OPERATIONS.md. */
  static String codeBlockAfter(String heading, String language) throws IOException {
    String doc = Files.readString(ROOT.resolve("docs/OPERATIONS.md"));
    int at = doc.indexOf("\n" + heading + "\n");
    assertTrue(at >= 0, "docs/OPERATIONS.md has no heading '" + heading + "'");
    String fence = "```" + language + "\n";
    int start = doc.indexOf(fence, at);
    assertTrue(
        start >= 0,
        "docs/OPERATIONS.md has no " + fence.strip() + " block after '" + heading + "'");
    int end = doc.indexOf("```", start + fence.length());
    return doc.substring(start + fence.length(), end);
  }

  static String replaceOnce(String text, String what, String with) {
    assertTrue(
        text.contains(what), "the documented block no longer contains '" + what + "':\n" + text);
    return text.replace(what, with);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }
}
