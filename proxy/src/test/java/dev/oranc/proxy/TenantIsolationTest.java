package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.RawClient;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The small-blob cache is per (registry, repository): two real registries, Alice's private one
 * (htpasswd) and a hostile one whose manifest names the digest and size of Alice's narinfo. Digests
 * are no secret (a narinfo's FileHash, an S3 ETag), so the hostile manifest is what an attacker can
 * make. An anonymous request through the hostile registry never gets Alice's bytes, and cannot tell
 * whether they are cached: its answer and the requests the hostile registry sees are the same
 * either way.
 *
 * <p>How the hostile manifest is made: distribution checks a manifest's layers exist when it is
 * pushed, so the stand-in gets the blob once (through the server, as any PUT), then the blob is
 * deleted from its repository. The manifest stays, naming a digest the repository no longer holds —
 * which is what a hostile registry (one that checks nothing) would serve. The test harness knows
 * Alice's bytes; an attacker would only know their digest. A third case puts a stand-in that checks
 * nothing ({@link FakeRegistry}) in the hostile registry's place, answering the digest with other
 * bytes; a fourth shows what the cache still shares: one repository's entry, among the credentials
 * the registry lets read that repository.
 */
class TenantIsolationTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static final String ALICE = TestServer.basic(Registry.USER, Registry.PASSWORD);
  private static final String MARKER = "X-Marker: alice-private-narinfo";
  private static final byte[] NARINFO =
      ("StorePath: /nix/store/0c5ahchgqzc0bbbibdhvqs6cmfx5kmfa-alice\n" + MARKER + "\n")
          .getBytes(StandardCharsets.UTF_8);
  private static final String KEY = "0c5ahchgqzc0bbbibdhvqs6cmfx5kmfa.narinfo";

  private static TestServer server;
  private static Registry alices;
  private static Registry hostile;
  private static String alicePath;
  private static String hostilePath;

  @BeforeAll
  static void setUp() throws Exception {
    server = TestServer.start();
    alices = registries.get(RegistryFlavour.BASIC);
    hostile = registries.get(RegistryFlavour.ANONYMOUS);
    alicePath = "/" + alices.proxyAddress() + "/alice/cache/" + KEY;
    hostilePath = "/" + hostile.proxyAddress() + "/mallory/cache/" + KEY;

    HttpResponse<byte[]> put =
        server.put(alicePath, NARINFO, ALICE, "Content-Type", "text/x-nix-narinfo");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    assertEquals(401, server.get(alicePath, null).statusCode(), "Alice's repository is private");

    // The hostile manifest: same key, layer = Alice's digest and size; then the blob goes away.
    assertEquals(200, server.put(hostilePath, NARINFO, null).statusCode());
    String digest = RawClient.digest(NARINFO);
    RawClient.Response deleted =
        hostile
            .anonymousClient()
            .request("DELETE", "/v2/mallory/cache/blobs/" + digest, Map.of(), null, null);
    assertEquals(202, deleted.status(), deleted.bodyText());
    assertFalse(hostile.anonymousClient().hasBlob("mallory/cache", digest));
    String manifest =
        new String(
            hostile.getManifest("mallory/cache", tagOf(hostile)).orElseThrow(),
            StandardCharsets.UTF_8);
    assertTrue(
        manifest.contains(digest) && manifest.contains("\"size\":" + NARINFO.length),
        "the hostile manifest names Alice's digest and size: " + manifest);

    // Per-origin state of the client (a remembered challenge, a pooled connection) is made once
    // here, so that the rounds below differ only in what the blob cache holds.
    server.get("/" + hostile.proxyAddress() + "/mallory/cache/nothing-here.narinfo", null);
  }

  private static String tagOf(Registry r) {
    List<String> tags = r.tags("mallory/cache");
    assertEquals(1, tags.size(), "one key in the hostile repository: " + tags);
    return tags.get(0);
  }

  @AfterAll
  static void tearDown() {
    if (server != null) {
      server.close();
    }
  }

  /** What an anonymous client sees through the hostile registry, and what that registry saw. */
  private record Probe(int status, String body, List<String> registryRequests) {}

  private static Probe probe() throws Exception {
    hostile.resetCounters();
    HttpResponse<byte[]> r = server.get(hostilePath, null);
    String body = new String(r.body(), StandardCharsets.ISO_8859_1);
    List<String> seen =
        hostile.proxiedRequests().stream()
            .map(p -> p.method() + " " + p.path() + " " + p.status())
            .toList();
    return new Probe(r.statusCode(), body, seen);
  }

  private static void aliceReadsHerNarinfo() throws Exception {
    HttpResponse<byte[]> get = server.get(alicePath, ALICE);
    assertEquals(200, get.statusCode(), TestServer.text(get));
    assertArrayEquals(NARINFO, get.body());
  }

  @Test
  void anAnonymousRequestThroughAnotherRegistryNeverGetsAlicesCachedBytes() throws Exception {
    server.server.clearCaches();
    aliceReadsHerNarinfo();
    // Cached: her next read costs her registry nothing.
    alices.resetCounters();
    aliceReadsHerNarinfo();
    assertEquals(List.of(), alices.proxiedRequests(), "Alice's narinfo is cached");

    Probe p = probe();
    assertNotEquals(200, p.status(), "the hostile manifest got an answer: " + p);
    assertFalse(
        p.body().contains(MARKER), "Alice's bytes went to an anonymous client: " + p.body());
    assertTrue(
        p.registryRequests().stream().anyMatch(s -> s.startsWith("GET /v2/mallory/cache/blobs/")),
        "the miss went to the hostile registry's own repository: " + p.registryRequests());
    assertTrue(p.status() == 404 || p.status() == 502, "status " + p.status());
  }

  @Test
  void whetherAlicesBlobIsCachedCannotBeProbedFromAnotherRegistry() throws Exception {
    server.server.clearCaches();
    Probe cold = probe();

    server.server.clearCaches();
    aliceReadsHerNarinfo();
    Probe warm = probe();

    assertEquals(
        cold, warm, "the probe's answer or its registry requests depend on Alice's cache entry");
    assertFalse(warm.body().contains(MARKER));
    // Alice is still served her own bytes, from the cache.
    alices.resetCounters();
    aliceReadsHerNarinfo();
    assertTrue(
        alices.proxiedRequests().stream()
            .noneMatch((ProxiedRequest r) -> r.path().contains("/blobs/")),
        "Alice's entry is still cached: " + alices.proxiedRequests());
  }

  /**
   * A registry that checks nothing (the test's stand-in, serving the real hostile manifest) and
   * answers the blob with other bytes of the same size: the digest check refuses them (502), and
   * neither they nor Alice's cached bytes are served; cached or not, the same answer and requests.
   */
  @Test
  void aRegistryThatAnswersTheDigestWithOtherBytesGets502NeverAlicesBytes() throws Exception {
    byte[] manifest = hostile.getManifest("mallory/cache", tagOf(hostile)).orElseThrow();
    byte[] other = new byte[NARINFO.length];
    Arrays.fill(other, (byte) 'x');
    try (FakeRegistry fake =
        FakeRegistry.byTarget(
            (method, uri, reply) -> {
              if (uri.contains("/manifests/")) {
                reply.send(200, FakeRegistry.OCI_MANIFEST, manifest);
              } else if (uri.contains("/blobs/")) {
                reply.send(200, "application/octet-stream", other);
              } else {
                reply.send(200, "{}");
              }
            })) {
      String path = "/" + fake.address() + "/mallory/cache/" + KEY;
      List<String> answers = new ArrayList<>();
      List<List<String>> requests = new ArrayList<>();
      for (boolean aliceCached : new boolean[] {false, true}) {
        server.server.clearCaches();
        if (aliceCached) {
          aliceReadsHerNarinfo();
        }
        fake.clearRequests();
        HttpResponse<byte[]> r = server.get(path, null);
        String body = new String(r.body(), StandardCharsets.ISO_8859_1);
        assertEquals(502, r.statusCode(), body);
        assertFalse(body.contains(MARKER), body);
        assertFalse(body.contains("xxxx"), "the foreign bytes are not quoted: " + body);
        answers.add(r.statusCode() + " " + body);
        requests.add(fake.requestLines());
      }
      assertEquals(answers.get(0), answers.get(1), "the answer depends on Alice's cache entry");
      assertEquals(
          requests.get(0), requests.get(1), "the registry requests depend on Alice's cache entry");
    }
  }

  /**
   * The design's other half (see {@code BlobCache}): within one repository the entry is shared by
   * every credential the registry lets read the manifest — they could fetch the blob themselves —
   * and by no one else: another user of Alice's repository is served from the cache (his own
   * manifest request, no blob request), an anonymous one still gets the registry's 401.
   */
  @Test
  void withinOneRepositoryTheEntryServesEveryoneTheRegistryLetsReadTheManifestAndNoOneElse()
      throws Exception {
    server.server.clearCaches();
    aliceReadsHerNarinfo();
    alices.resetCounters();
    HttpResponse<byte[]> reader =
        server.get(alicePath, TestServer.basic(Registry.READER, Registry.READER_PASSWORD));
    assertEquals(200, reader.statusCode(), TestServer.text(reader));
    assertArrayEquals(NARINFO, reader.body());
    List<ProxiedRequest> seen = alices.proxiedRequests();
    assertTrue(
        seen.stream().anyMatch(r -> r.path().contains("/manifests/")),
        "resolved for the reader: " + seen);
    assertTrue(
        seen.stream().noneMatch(r -> r.path().contains("/blobs/")),
        "the bytes came from the cache: " + seen);

    HttpResponse<byte[]> anonymous = server.get(alicePath, null);
    assertEquals(401, anonymous.statusCode());
    assertFalse(new String(anonymous.body(), StandardCharsets.ISO_8859_1).contains(MARKER));
  }
}
