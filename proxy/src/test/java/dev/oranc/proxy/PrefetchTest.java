package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Closure-aware prefetch against the real registry, counting what reaches it ({@code
 * CountingProxy}): a narinfo GET warms its References' narinfos and its NAR's layer, a HEAD warms
 * the narinfo's bytes, {@code --no-prefetch} warms nothing, a full queue drops (and the request is
 * answered all the same), a failed prefetch leaves nothing behind, and a prefetch made with one
 * request's credentials serves no request with other credentials. Each test waits for the
 * prefetches it caused to finish ({@code Prefetcher.awaitIdle}), never for a time.
 */
class PrefetchTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static final String ALICE = TestServer.basic(Registry.USER, Registry.PASSWORD);
  private static final String HASH_A = "0c5ahchgqzc0bbbibdhvqs6cmfx5kmfa";
  private static final String HASH_B = "1d6bjdhhrzd1cccjcdjwrs7dnfy6lnfb";
  private static final String HASH_C = "2f7cjfjjsaf2dddkdfkxsv8fpgz7mpgc";
  private static final String NAR_A = "nar/" + "1".repeat(52) + ".nar.zst";
  private static final String NAR_B = "nar/" + "2".repeat(52) + ".nar.zst";
  private static final String NAR_C = "nar/" + "3".repeat(52) + ".nar.zst";
  private static final byte[] NAR_BYTES = "a small NAR stand-in".getBytes(StandardCharsets.UTF_8);

  private static byte[] narinfo(String hash, String name, String url, String... references) {
    StringBuilder refs = new StringBuilder();
    for (String r : references) {
      refs.append(refs.length() == 0 ? "" : " ").append(r);
    }
    return ("StorePath: /nix/store/"
            + hash
            + "-"
            + name
            + "\n"
            + "URL: "
            + url
            + "\n"
            + "Compression: zstd\n"
            + "NarHash: sha256:"
            + "0".repeat(52)
            + "\n"
            + "NarSize: 120\n"
            + "References: "
            + refs
            + "\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static final byte[] A = narinfo(HASH_A, "a", NAR_A, HASH_B + "-b", HASH_C + "-c");
  private static final byte[] B = narinfo(HASH_B, "b", NAR_B);
  private static final byte[] C = narinfo(HASH_C, "c", NAR_C, HASH_B + "-b");

  /**
   * A server, and A (References B and C; C references B), B, C and their NARs put through it into
   * {@code base}, its caches then emptied. Every key exists, so every layer a prefetch makes lives
   * the layer cache's minutes (a miss would live seconds, and a slow run could see it expire).
   */
  private static TestServer serverWithClosure(
      String base, String auth, Consumer<ServerConfig.Builder> tweak) throws Exception {
    TestServer s = TestServer.start(tweak);
    // Nix's order: each NAR, then the narinfo naming it. A NAR's PUT is answered before its
    // manifest is up; its narinfo's PUT waits for that, so once these return every key is there.
    put(s, base + "/" + NAR_A, NAR_BYTES, auth);
    put(s, base + "/" + NAR_B, NAR_BYTES, auth);
    put(s, base + "/" + NAR_C, NAR_BYTES, auth);
    put(s, base + "/" + HASH_A + ".narinfo", A, auth);
    put(s, base + "/" + HASH_B + ".narinfo", B, auth);
    put(s, base + "/" + HASH_C + ".narinfo", C, auth);
    s.server.clearCaches();
    return s;
  }

  private static void put(TestServer s, String path, byte[] body, String auth) throws Exception {
    HttpResponse<byte[]> r = s.put(path, body, auth, "Content-Type", "text/x-nix-narinfo");
    assertEquals(200, r.statusCode(), TestServer.text(r));
  }

  private static void awaitPrefetches(TestServer s) throws InterruptedException {
    assertTrue(s.server.prefetcher().awaitIdle(Duration.ofSeconds(30)), "the prefetches end");
  }

  private static void getOk(TestServer s, String path, byte[] expected, String auth)
      throws Exception {
    HttpResponse<byte[]> r = s.get(path, auth);
    assertEquals(200, r.statusCode(), TestServer.text(r));
    assertArrayEquals(expected, r.body());
  }

  /** The registry's GETs of the manifest of {@code key}'s main tag. */
  private static List<ProxiedRequest> manifestGets(Registry r, String key) {
    String tag = TagCodec.DEFAULT.readTags(key).get(0).value();
    return r.proxiedRequests("GET", ".*/manifests/" + Pattern.quote(tag));
  }

  private static List<String> seen(Registry r) {
    return r.proxiedRequests().stream().map(p -> p.method() + " " + p.path()).toList();
  }

  @Test
  void aNarinfoFromTheRegistryWarmsItsReferencesAndItsNar() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    String base = "/" + r.proxyAddress() + "/prefetch/warm";
    try (TestServer s = serverWithClosure(base, null, b -> {})) {
      getOk(s, base + "/" + HASH_A + ".narinfo", A, null);
      awaitPrefetches(s);
      // NAR A, B, C, NAR B, NAR C; C's reference B was under way or cached already.
      assertEquals(5, s.server.metrics().prefetches("done"), s.server.metrics().scrape());
      r.resetCounters();

      getOk(s, base + "/" + HASH_B + ".narinfo", B, null);
      getOk(s, base + "/" + HASH_C + ".narinfo", C, null);
      assertEquals(List.of(), seen(r), "B and C are answered from the caches");

      getOk(s, base + "/" + NAR_A, NAR_BYTES, null);
      List<ProxiedRequest> manifests = r.proxiedRequests("GET", ".*/manifests/.*");
      assertEquals(List.of(), manifests, "the NAR's layer was resolved already: " + seen(r));
      assertTrue(s.server.metrics().scrape().contains("oranc_prefetch_total{result=\"done\"}"));
    }
  }

  @Test
  void noPrefetchWarmsNothing() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    String base = "/" + r.proxyAddress() + "/prefetch/off";
    try (TestServer s = serverWithClosure(base, null, b -> b.prefetchConcurrency(0))) {
      assertFalse(s.server.prefetcher().enabled());
      getOk(s, base + "/" + HASH_A + ".narinfo", A, null);
      r.resetCounters();
      getOk(s, base + "/" + HASH_B + ".narinfo", B, null);
      assertEquals(1, manifestGets(r, HASH_B + ".narinfo").size(), "B is resolved now: " + seen(r));
      assertEquals(
          1,
          r.proxiedRequests("GET", ".*/blobs/.*").size(),
          "and its bytes fetched now: " + seen(r));
      assertEquals(0, s.server.metrics().prefetches("done"));
    }
  }

  @Test
  void aFullQueueDropsAndTheRequestIsAnsweredAllTheSame() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    String base = "/" + r.proxyAddress() + "/prefetch/full";
    // One prefetch at a time and no queue: A's NAR layer takes the turn (it is submitted first,
    // on the request's loop, which runs it only after the hook returns), B and C find no room.
    try (TestServer s =
        serverWithClosure(base, null, b -> b.prefetchConcurrency(1).prefetchQueue(0))) {
      getOk(s, base + "/" + HASH_A + ".narinfo", A, null);
      awaitPrefetches(s);
      assertEquals(2, s.server.metrics().prefetches("dropped"), s.server.metrics().scrape());
      assertEquals(1, s.server.metrics().prefetches("done"));
      r.resetCounters();
      getOk(s, base + "/" + HASH_B + ".narinfo", B, null);
      assertEquals(
          1, manifestGets(r, HASH_B + ".narinfo").size(), "B was dropped, not fetched: " + seen(r));
    }
  }

  @Test
  void aFailedPrefetchLeavesNothingBehind() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    try (FaultInjector faults = new FaultInjector(r.proxyAddress(), null)) {
      String base = "/" + faults.address() + "/prefetch/fails";
      try (TestServer s = serverWithClosure(base, null, b -> {})) {
        String tagB = TagCodec.DEFAULT.readTags(HASH_B + ".narinfo").get(0).value();
        // Every request for B's manifest fails while A's prefetches run.
        FaultInjector.Rule rule =
            FaultInjector.Rule.of(
                "GET",
                "/manifests/" + Pattern.quote(tagB) + "$",
                FaultInjector.Fault.status(503),
                -1);
        faults.add(rule);
        getOk(s, base + "/" + HASH_A + ".narinfo", A, null);
        awaitPrefetches(s);
        assertTrue(
            faults.injected().size() >= 2,
            "the prefetch of B met the faults (every attempt): " + faults.injected());
        assertTrue(s.server.metrics().prefetches("failed") >= 1, s.server.metrics().scrape());
        faults.clear();

        r.resetCounters();
        getOk(s, base + "/" + HASH_B + ".narinfo", B, null);
        assertEquals(
            1,
            manifestGets(r, HASH_B + ".narinfo").size(),
            "nothing of the failure was kept: the GET asks the registry and gets B: " + seen(r));
      }
    }
  }

  @Test
  void aPrefetchWithAlicesCredentialsServesNoAnonymousRequest() throws Exception {
    Registry r = registries.get(RegistryFlavour.BASIC);
    String base = "/" + r.proxyAddress() + "/alice/closure";
    try (TestServer s = serverWithClosure(base, ALICE, b -> {})) {
      getOk(s, base + "/" + HASH_A + ".narinfo", A, ALICE);
      awaitPrefetches(s);
      r.resetCounters();

      HttpResponse<byte[]> anonymous = s.get(base + "/" + HASH_B + ".narinfo", null);
      assertEquals(401, anonymous.statusCode(), TestServer.text(anonymous));
      assertFalse(TestServer.text(anonymous).contains("StorePath"));
      assertFalse(
          r.proxiedRequests("GET", ".*/manifests/.*").isEmpty(),
          "the anonymous request was put to the registry, which refused it: " + seen(r));

      r.resetCounters();
      getOk(s, base + "/" + HASH_B + ".narinfo", B, ALICE);
      assertEquals(List.of(), seen(r), "Alice's own request is a hit");
    }
  }

  @Test
  void aHeadThenGetOfANarinfoMakesOneRound() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    String base = "/" + r.proxyAddress() + "/prefetch/head";
    try (TestServer s = serverWithClosure(base, null, b -> {})) {
      HttpResponse<byte[]> head = s.head(base + "/" + HASH_B + ".narinfo", null);
      assertEquals(200, head.statusCode());
      awaitPrefetches(s);
      r.resetCounters();
      getOk(s, base + "/" + HASH_B + ".narinfo", B, null);
      assertEquals(List.of(), seen(r), "the HEAD's prefetch fetched the bytes");
    }
  }
}
