package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.oci.Digest;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.FaultInjector.Fault;
import dev.oranc.testkit.FaultInjector.Rule;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 16 point 2: the requests Nix's {@code nix copy --to http://…} sends per path (HEAD narinfo,
 * HEAD nar, PUT nar, PUT narinfo) through the server against the real registry. A NAR's PUT is
 * answered once its blob is stored and its image goes up after; the invariant — a narinfo is
 * visible only once its NAR is — holds when that publish fails, and a GET of a NAR still being
 * published waits for it.
 */
class NixCopyFlowTest {

  /**
   * Registry requests per path on the CNCF registry (no single POST): HEAD narinfo and HEAD nar one
   * manifest GET each; the NAR and the narinfo each a blob (POST, PUT), a config (POST, PUT) and a
   * manifest PUT. The narinfo's check of its NAR costs none: the NAR was published here.
   */
  static final int MAX_REQUESTS_PER_PATH = 12;

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  /** A path's NAR and narinfo, as Nix writes them. */
  record PathFiles(String hash, byte[] nar, byte[] narinfo) {
    static PathFiles of(String salt) {
      String hash =
          NixHash.sha256(Digest.sha256(salt.getBytes(StandardCharsets.UTF_8)).bytes())
              .bareNix32()
              .substring(0, 32);
      byte[] nar =
          ("nix-archive-1 " + salt + " " + "y".repeat(2048)).getBytes(StandardCharsets.UTF_8);
      String fileHash = NixHash.sha256(Digest.sha256(nar).bytes()).bareNix32();
      String narinfo =
          "StorePath: /nix/store/"
              + hash
              + "-flow-"
              + salt
              + "\n"
              + "URL: nar/"
              + fileHash
              + ".nar.zst\n"
              + "Compression: zstd\n"
              + "FileHash: sha256:"
              + fileHash
              + "\n"
              + "FileSize: "
              + nar.length
              + "\n"
              + "NarHash: sha256:"
              + fileHash
              + "\n"
              + "NarSize: "
              + nar.length
              + "\n"
              + "References: \n";
      return new PathFiles(hash, nar, narinfo.getBytes(StandardCharsets.UTF_8));
    }

    String narKey() {
      String text = new String(narinfo, StandardCharsets.UTF_8);
      int at = text.indexOf("URL: ") + 5;
      return text.substring(at, text.indexOf('\n', at));
    }
  }

  /** The four requests of one path; the status of each as Nix expects it. */
  private static void copy(TestServer server, String base, PathFiles p) throws Exception {
    assertEquals(404, server.head(base + "/" + p.hash() + ".narinfo", null).statusCode());
    assertEquals(404, server.head(base + "/" + p.narKey(), null).statusCode());
    HttpResponse<byte[]> nar =
        server.put(base + "/" + p.narKey(), p.nar(), null, "Content-Type", "application/x-nix-nar");
    assertEquals(200, nar.statusCode(), TestServer.text(nar));
    HttpResponse<byte[]> narinfo =
        server.put(
            base + "/" + p.hash() + ".narinfo",
            p.narinfo(),
            null,
            "Content-Type",
            "text/x-nix-narinfo");
    assertEquals(200, narinfo.statusCode(), TestServer.text(narinfo));
  }

  @Test
  void aNixLikeCopyCostsAtMostTheBoundInRegistryRequestsPerPath() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String base =
        "/"
            + registry.proxyAddress()
            + "/flow/count"
            + UUID.randomUUID().toString().substring(0, 8);
    int paths = 5;
    try (TestServer server = TestServer.start()) {
      copy(
          server,
          base,
          PathFiles.of("warm-" + UUID.randomUUID())); // the first request's auth and pool
      registry.resetCounters();
      List<PathFiles> files = new ArrayList<>();
      for (int i = 0; i < paths; i++) {
        PathFiles p = PathFiles.of(i + "-" + UUID.randomUUID());
        files.add(p);
        copy(server, base, p);
      }
      List<ProxiedRequest> requests = registry.proxiedRequests();
      assertTrue(
          requests.size() <= MAX_REQUESTS_PER_PATH * paths,
          requests.size() + " registry requests for " + paths + " paths: " + requests);
      assertTrue(
          requests.stream().noneMatch(r -> r.method().equals("HEAD")),
          "a HEAD before an upload: " + requests);
      for (PathFiles p : files) {
        HttpResponse<byte[]> narinfo = server.get(base + "/" + p.hash() + ".narinfo", null);
        assertEquals(200, narinfo.statusCode());
        assertArrayEquals(p.narinfo(), narinfo.body());
        assertArrayEquals(p.nar(), server.get(base + "/" + p.narKey(), null).body());
      }
    }
  }

  @Test
  void aNarWhosePublishFailsAfterItsAnswerNeverGetsItsNarinfo() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String repository = "flow/fail" + UUID.randomUUID().toString().substring(0, 8);
    PathFiles p = PathFiles.of("fail-" + UUID.randomUUID());
    try (FaultInjector front = new FaultInjector(registry.address(), null);
        TestServer server = TestServer.start()) {
      String base = "/" + front.address() + "/" + repository;
      // Every manifest PUT fails: the NAR's, after its blob is stored and its PUT answered.
      front.add(Rule.of("PUT", "/manifests/", Fault.status(400), -1));
      HttpResponse<byte[]> nar =
          server.put(
              base + "/" + p.narKey(), p.nar(), null, "Content-Type", "application/x-nix-nar");
      assertEquals(
          200, nar.statusCode(), "answered once the blob is stored: " + TestServer.text(nar));

      HttpResponse<byte[]> narinfo =
          server.put(
              base + "/" + p.hash() + ".narinfo",
              p.narinfo(),
              null,
              "Content-Type",
              "text/x-nix-narinfo");
      assertEquals(400, narinfo.statusCode(), TestServer.text(narinfo));
      assertTrue(TestServer.text(narinfo).contains(p.narKey()), TestServer.text(narinfo));
      assertTrue(
          front.injected().stream().allMatch(i -> i.method().equals("PUT")),
          front.injected().toString());
      assertEquals(
          1, front.injected().size(), "only the NAR's manifest was tried: " + front.injected());

      front.clear();
      assertEquals(404, server.get(base + "/" + p.hash() + ".narinfo", null).statusCode());
      assertEquals(404, server.get(base + "/" + p.narKey(), null).statusCode());

      // Sent again, the NAR goes up, and then its narinfo does.
      assertEquals(200, server.put(base + "/" + p.narKey(), p.nar(), null).statusCode());
      HttpResponse<byte[]> again =
          server.put(base + "/" + p.hash() + ".narinfo", p.narinfo(), null);
      assertEquals(200, again.statusCode(), TestServer.text(again));
      assertArrayEquals(p.narinfo(), server.get(base + "/" + p.hash() + ".narinfo", null).body());
    }
  }

  @Test
  void aGetOfANarBeingPublishedWaitsAndServesIt() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String repository = "flow/wait" + UUID.randomUUID().toString().substring(0, 8);
    PathFiles p = PathFiles.of("wait-" + UUID.randomUUID());
    try (FaultInjector front = new FaultInjector(registry.address(), null);
        TestServer server = TestServer.start()) {
      String base = "/" + front.address() + "/" + repository;
      // The NAR's manifest is held back by the registry until the test lets it go.
      FaultInjector.Hold manifest = front.hold("PUT", "/manifests/nar_");
      HttpResponse<byte[]> nar =
          server.put(
              base + "/" + p.narKey(), p.nar(), null, "Content-Type", "application/x-nix-nar");
      assertEquals(200, nar.statusCode(), TestServer.text(nar));
      assertTrue(
          manifest.awaitHeld(Duration.ofSeconds(30)),
          "the NAR's manifest was never sent: " + front.requests());
      assertFalse(
          front.requests().stream()
              .anyMatch(r -> r.startsWith("GET") && r.contains("/manifests/nar_")),
          "nothing looked the NAR up yet: " + front.requests());
      // A GET now (its tag not in the registry yet) waits for the publish instead of a 404.
      CompletableFuture<HttpResponse<byte[]>> pendingGet =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return server.get(base + "/" + p.narKey(), null);
                } catch (Exception e) {
                  throw new CompletionException(e);
                }
              });
      manifest.release();
      HttpResponse<byte[]> get = pendingGet.get(60, TimeUnit.SECONDS);
      assertEquals(200, get.statusCode(), TestServer.text(get));
      assertArrayEquals(p.nar(), get.body());
      assertEquals("application/x-nix-nar", get.headers().firstValue("Content-Type").orElse(""));
    }
  }

  @Test
  void aNarinfoOnAnotherServerWaitsForTheNarAnotherServerIsPublishing() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String repository = "flow/replica" + UUID.randomUUID().toString().substring(0, 8);
    PathFiles p = PathFiles.of("replica-" + UUID.randomUUID());
    try (FaultInjector front = new FaultInjector(registry.address(), null);
        TestServer a = TestServer.start();
        TestServer b = TestServer.start()) {
      String base = "/" + front.address() + "/" + repository;
      // The NAR's manifest goes up on a's second try, two seconds after its PUT was answered.
      front.add(Rule.of("PUT", "/manifests/nar_", Fault.status(503, "Retry-After", "2"), 1));
      assertEquals(200, a.put(base + "/" + p.narKey(), p.nar(), null).statusCode());
      // Replica b never saw the NAR: it finds the blob without its tag and looks again.
      HttpResponse<byte[]> narinfo = b.put(base + "/" + p.hash() + ".narinfo", p.narinfo(), null);
      assertEquals(200, narinfo.statusCode(), TestServer.text(narinfo));
      List<String> requests = front.requests();
      assertTrue(
          requests.stream().anyMatch(r -> r.startsWith("HEAD") && r.contains("/blobs/")),
          "b looked for the NAR's blob: " + requests);
      int narUp =
          requests.lastIndexOf(
              requests.stream()
                  .filter(r -> r.startsWith("PUT") && r.contains("/manifests/nar_"))
                  .reduce((x, y) -> y)
                  .orElseThrow());
      int narinfoUp =
          requests.indexOf(
              requests.stream()
                  .filter(r -> r.startsWith("PUT") && r.contains(".narinfo"))
                  .findFirst()
                  .orElseThrow());
      assertTrue(narUp < narinfoUp, "the narinfo went up before its NAR: " + requests);
      assertEquals(200, b.get(base + "/" + p.narKey(), null).statusCode());
      assertEquals(200, b.get(base + "/" + p.hash() + ".narinfo", null).statusCode());
    }
  }

  @Test
  void aNarinfoWhoseNarAnotherServerFailedToPublishIsRefused() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String repository = "flow/replicafail" + UUID.randomUUID().toString().substring(0, 8);
    PathFiles p = PathFiles.of("replicafail-" + UUID.randomUUID());
    try (FaultInjector front = new FaultInjector(registry.address(), null);
        TestServer a = TestServer.start();
        TestServer b = TestServer.start()) {
      String base = "/" + front.address() + "/" + repository;
      front.add(Rule.of("PUT", "/manifests/nar_", Fault.status(400), -1));
      assertEquals(200, a.put(base + "/" + p.narKey(), p.nar(), null).statusCode());
      // b sees the NAR's blob but never its tag: after its bounded wait (NarInfoGate.WAITS), a 400.
      HttpResponse<byte[]> narinfo = b.put(base + "/" + p.hash() + ".narinfo", p.narinfo(), null);
      assertEquals(400, narinfo.statusCode(), TestServer.text(narinfo));
      assertTrue(
          TestServer.text(narinfo).contains("upload the NAR first"), TestServer.text(narinfo));
      assertTrue(
          front.requests().stream().noneMatch(r -> r.startsWith("PUT") && r.contains(".narinfo")),
          "a narinfo manifest was sent: " + front.requests());
      assertEquals(404, b.get(base + "/" + p.hash() + ".narinfo", null).statusCode());
    }
  }

  @Test
  void aNarinfoWhoseNarWasNeverSentIsStoredAsBefore() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String base =
        "/"
            + registry.proxyAddress()
            + "/flow/alone"
            + UUID.randomUUID().toString().substring(0, 8);
    PathFiles p = PathFiles.of("alone-" + UUID.randomUUID());
    try (TestServer server = TestServer.start()) {
      // An `aws s3 sync` of a cache directory sends files in any order: not the server's to police.
      HttpResponse<byte[]> narinfo =
          server.put(base + "/" + p.hash() + ".narinfo", p.narinfo(), null);
      assertEquals(200, narinfo.statusCode(), TestServer.text(narinfo));
    }
  }

  @Test
  void withEarlyAnswersOffAPutIsAnsweredAfterItsManifest() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String repository = "flow/late" + UUID.randomUUID().toString().substring(0, 8);
    PathFiles p = PathFiles.of("late-" + UUID.randomUUID());
    try (FaultInjector front = new FaultInjector(registry.address(), null);
        TestServer server = TestServer.start(c -> c.maxPendingPublishes(0))) {
      String base = "/" + front.address() + "/" + repository;
      front.add(Rule.of("PUT", "/manifests/", Fault.status(400), 1));
      HttpResponse<byte[]> nar = server.put(base + "/" + p.narKey(), p.nar(), null);
      assertTrue(nar.statusCode() >= 400, "the failed publish is the answer: " + nar.statusCode());
      assertEquals(200, server.put(base + "/" + p.narKey(), p.nar(), null).statusCode());
      assertEquals(200, server.get(base + "/" + p.narKey(), null).statusCode());
    }
  }
}
