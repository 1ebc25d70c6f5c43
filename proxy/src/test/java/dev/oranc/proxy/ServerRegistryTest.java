package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server against the real distribution registry in its three auth flavours: PUT, GET, HEAD,
 * misses, what is cached and for whom, and how many registry requests each costs (counted by the
 * harness's counting proxy, which the server is pointed at).
 */
class ServerRegistryTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static final String USER = TestServer.basic(Registry.USER, Registry.PASSWORD);
  private static final String READER = TestServer.basic(Registry.READER, Registry.READER_PASSWORD);

  /** One server per flavour would do; one server for all shows that they do not interfere. */
  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String credentials(RegistryFlavour flavour) {
    return flavour == RegistryFlavour.ANONYMOUS ? null : USER;
  }

  /** A fresh repository path in the flavour's registry, through the counting proxy. */
  private static String base(RegistryFlavour flavour) {
    Registry r = registries.get(flavour);
    return "/" + r.proxyAddress() + "/test/c" + UUID.randomUUID().toString().substring(0, 8);
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void putThenGetAndHeadGiveTheBytesTypeAndEncodingBack(RegistryFlavour flavour) throws Exception {
    String base = base(flavour);
    String auth = credentials(flavour);
    byte[] narinfo =
        "StorePath: /nix/store/abc-x\nURL: nar/abc.nar.xz\n".getBytes(StandardCharsets.UTF_8);

    HttpResponse<byte[]> put =
        server.put(base + "/abc.narinfo", narinfo, auth, "Content-Type", "text/x-nix-narinfo");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    assertEquals("<_/>", TestServer.text(put));

    HttpResponse<byte[]> get = server.get(base + "/abc.narinfo", auth);
    assertEquals(200, get.statusCode(), TestServer.text(get));
    assertArrayEquals(narinfo, get.body());
    assertEquals("text/x-nix-narinfo", get.headers().firstValue("Content-Type").orElse(null));
    assertTrue(get.headers().firstValue("Content-Encoding").isEmpty());

    HttpResponse<byte[]> head = server.head(base + "/abc.narinfo", auth);
    assertEquals(200, head.statusCode());
    assertEquals(
        String.valueOf(narinfo.length), head.headers().firstValue("Content-Length").orElse(null));
    assertEquals(0, head.body().length);

    // A file uploaded with Content-Encoding (Nix's ls-compression) comes back with it.
    byte[] listing = new byte[] {0x1f, (byte) 0x8b, 8, 0, 1, 2, 3};
    assertEquals(
        200,
        server
            .put(
                base + "/abc.ls",
                listing,
                auth,
                "Content-Type",
                "application/json",
                "Content-Encoding",
                "gzip")
            .statusCode());
    HttpResponse<byte[]> ls = server.get(base + "/abc.ls", auth);
    assertEquals("gzip", ls.headers().firstValue("Content-Encoding").orElse(null));
    assertEquals("application/json", ls.headers().firstValue("Content-Type").orElse(null));
    assertArrayEquals(listing, ls.body());

    // A PUT without Content-Type is stored as application/octet-stream.
    assertEquals(200, server.put(base + "/log/x-drv", "log".getBytes(), auth).statusCode());
    assertEquals(
        "application/octet-stream",
        server.get(base + "/log/x-drv", auth).headers().firstValue("Content-Type").orElse(null));
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void aMissingKeyIsNoSuchKeyAndAPutMakesItVisibleAtOnce(RegistryFlavour flavour) throws Exception {
    String base = base(flavour);
    String auth = credentials(flavour);
    HttpResponse<byte[]> miss = server.get(base + "/nix-cache-info", auth);
    assertEquals(404, miss.statusCode());
    assertEquals("<Error><Code>NoSuchKey</Code></Error>", TestServer.text(miss));
    assertEquals(404, server.head(base + "/nix-cache-info", auth).statusCode());

    // The miss is cached (negative TTL), but a PUT through the server replaces it at once.
    byte[] info = "StoreDir: /nix/store\n".getBytes(StandardCharsets.UTF_8);
    assertEquals(
        200,
        server
            .put(base + "/nix-cache-info", info, auth, "Content-Type", "text/x-nix-cache-info")
            .statusCode());
    HttpResponse<byte[]> hit = server.get(base + "/nix-cache-info", auth);
    assertEquals(200, hit.statusCode());
    assertArrayEquals(info, hit.body());

    // Rewriting a key is seen at once too (the positive entry is dropped).
    byte[] info2 = "StoreDir: /nix/store\nPriority: 30\n".getBytes(StandardCharsets.UTF_8);
    assertEquals(
        200,
        server
            .put(base + "/nix-cache-info", info2, auth, "Content-Type", "text/x-nix-cache-info")
            .statusCode());
    assertArrayEquals(info2, server.get(base + "/nix-cache-info", auth).body());
  }

  @Test
  void theImageIsTheRustToolsLayout() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String repo = "test/layout" + UUID.randomUUID().toString().substring(0, 8);
    byte[] body = "x".getBytes();
    assertEquals(
        200,
        server
            .put(
                "/" + registry.address() + "/" + repo + "/realisations/sha256:ab!out.doi",
                body,
                null,
                "Content-Type",
                "application/json")
            .statusCode());
    String tag = "realisations_L_sha256_W_ab_x_out.doi";
    assertEquals(List.of(tag), registry.tags(repo));
    String manifest =
        new String(registry.getManifest(repo, tag).orElseThrow(), StandardCharsets.UTF_8);
    assertTrue(
        manifest.contains("\"com.linyinfeng.oranc.key\":\"realisations/sha256:ab!out.doi\""),
        manifest);
    assertTrue(
        manifest.contains("\"com.linyinfeng.oranc.content.type\":\"application/json\""), manifest);
    assertTrue(manifest.contains("application/vnd.oci.image.manifest.v1+json"), manifest);
  }

  @Test
  void warmNarinfoGetsMakeNoRegistryRequest() throws Exception {
    Registry registry = registries.get(RegistryFlavour.TOKEN);
    String base = base(RegistryFlavour.TOKEN);
    byte[] narinfo = "StorePath: /nix/store/warm\n".getBytes(StandardCharsets.UTF_8);
    assertEquals(
        200,
        server
            .put(base + "/warm.narinfo", narinfo, USER, "Content-Type", "text/x-nix-narinfo")
            .statusCode());
    assertEquals(
        200, server.get(base + "/warm.narinfo", USER).statusCode()); // cold: manifest + blob
    registry.resetCounters();
    for (int i = 0; i < 20; i++) {
      HttpResponse<byte[]> r = server.get(base + "/warm.narinfo", USER);
      assertEquals(200, r.statusCode());
      assertArrayEquals(narinfo, r.body());
    }
    assertEquals(List.of(), registry.proxiedRequests(), "warm GETs went to the registry");
    assertEquals(0, registry.tokenRequests());
  }

  @Test
  void concurrentColdGetsOfOneKeyMakeOneManifestRequest() throws Exception {
    Registry registry = registries.get(RegistryFlavour.BASIC);
    String base = base(RegistryFlavour.BASIC);
    byte[] narinfo = "StorePath: /nix/store/cold\n".getBytes(StandardCharsets.UTF_8);
    assertEquals(
        200,
        server
            .put(base + "/cold.narinfo", narinfo, USER, "Content-Type", "text/x-nix-narinfo")
            .statusCode());
    server.server.clearCaches();
    registry.resetCounters();
    ExecutorService pool = Executors.newFixedThreadPool(100);
    try {
      List<CompletableFuture<HttpResponse<byte[]>>> all = new ArrayList<>();
      CountDownLatch go = new CountDownLatch(1);
      for (int i = 0; i < 100; i++) {
        all.add(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    go.await();
                    return server.get(base + "/cold.narinfo", USER);
                  } catch (Exception e) {
                    throw new RuntimeException(e);
                  }
                },
                pool));
      }
      go.countDown();
      for (CompletableFuture<HttpResponse<byte[]>> f : all) {
        HttpResponse<byte[]> r = f.get(60, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertArrayEquals(narinfo, r.body());
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(
        1,
        registry.proxiedRequests("GET", "/v2/.*/manifests/.*").size(),
        registry.proxiedRequests().toString());
    assertEquals(
        1,
        registry.proxiedRequests("GET", "/v2/.*/blobs/.*").size(),
        registry.proxiedRequests().toString());
  }

  @Test
  void anEntryFetchedWithOneCredentialIsNotServedToAnother() throws Exception {
    Registry registry = registries.get(RegistryFlavour.BASIC);
    String base = base(RegistryFlavour.BASIC);
    byte[] secret = "StorePath: /nix/store/private\n".getBytes(StandardCharsets.UTF_8);
    assertEquals(
        200,
        server
            .put(base + "/private.narinfo", secret, USER, "Content-Type", "text/x-nix-narinfo")
            .statusCode());
    assertEquals(200, server.get(base + "/private.narinfo", USER).statusCode()); // warm for USER

    HttpResponse<byte[]> anonymous = server.get(base + "/private.narinfo", null);
    assertEquals(401, anonymous.statusCode(), TestServer.text(anonymous));
    assertTrue(anonymous.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Basic"));
    assertFalse(TestServer.text(anonymous).contains("/nix/store/private"));

    HttpResponse<byte[]> wrong =
        server.get(base + "/private.narinfo", TestServer.basic(Registry.USER, "not-the-password"));
    assertEquals(401, wrong.statusCode(), TestServer.text(wrong));
    assertEquals(
        401, server.head(base + "/private.narinfo", TestServer.basic("mallory", "x")).statusCode());
    // Failures are not cached: the right credentials still work, from the cache.
    registry.resetCounters();
    assertEquals(200, server.get(base + "/private.narinfo", USER).statusCode());
    assertEquals(0, registry.proxiedRequests().size());
  }

  @Test
  void aPullOnlyUserReadsButCannotWrite() throws Exception {
    String base = base(RegistryFlavour.TOKEN);
    byte[] body = "hello".getBytes();
    assertEquals(200, server.put(base + "/k", body, USER).statusCode());
    HttpResponse<byte[]> read = server.get(base + "/k", READER);
    assertEquals(200, read.statusCode());
    assertArrayEquals(body, read.body());
    HttpResponse<byte[]> write = server.put(base + "/k2", body, READER);
    assertTrue(
        write.statusCode() == 401 || write.statusCode() == 403,
        write.statusCode() + " " + TestServer.text(write));
    assertEquals(
        404, server.get(base + "/k2", USER).statusCode(), "a refused PUT published something");
  }

  @Test
  void aLargeBodyStreamsBothWaysAndIsByteExact() throws Exception {
    String base = base(RegistryFlavour.TOKEN);
    byte[] nar = new byte[9 << 20];
    new Random(1).nextBytes(nar);
    HttpResponse<byte[]> put =
        server.put(base + "/nar/big.nar.zst", nar, USER, "Content-Type", "application/x-nix-nar");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    HttpResponse<byte[]> get = server.get(base + "/nar/big.nar.zst", USER);
    assertEquals(200, get.statusCode());
    assertEquals("application/x-nix-nar", get.headers().firstValue("Content-Type").orElse(null));
    assertArrayEquals(nar, get.body());
    // Anonymous pulls are allowed in the token registry, streaming too.
    assertArrayEquals(nar, server.get(base + "/nar/big.nar.zst", null).body());
  }

  @Test
  void metricsCountRequestsCachesAndRegistryOperations() throws Exception {
    String base = base(RegistryFlavour.ANONYMOUS);
    server.put(base + "/m.narinfo", "m".getBytes(), null);
    server.get(base + "/m.narinfo", null);
    server.get(base + "/m.narinfo", null);
    HttpResponse<byte[]> m = server.get("/-/metrics", null);
    assertEquals(200, m.statusCode());
    assertTrue(
        m.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
    String text = TestServer.text(m);
    for (String expected :
        List.of(
            "oranc_http_requests_total{method=\"GET\",status=\"200\"}",
            "oranc_http_requests_total{method=\"PUT\",status=\"200\"}",
            "oranc_cache_hits_total{cache=\"layer\"}",
            "oranc_cache_misses_total{cache=\"blob\"}",
            "oranc_registry_operations_total{operation=\"publish\",outcome=\"ok\"}",
            "oranc_registry_operation_duration_seconds_bucket{operation=\"publish\",le=\"+Inf\"}",
            "oranc_registry_operation_duration_seconds_count{operation=\"resolve\"}",
            "oranc_streams_in_flight{direction=\"download\"} 0",
            "oranc_http_sent_bytes_total ")) {
      assertTrue(text.contains(expected), expected + " in\n" + text);
    }
    assertTrue(server.server.metrics().requests("GET", 200) >= 2);
  }
}
