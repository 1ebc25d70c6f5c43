package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.RawClient;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code oranc push} end to end: real Nix store paths, the real registry (with credentials), read
 * back with the harness's own client, and checked by real Nix.
 */
class PushTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.BASIC);

  static TestStore store;
  static Nix.KeyPair key;
  static Map<String, String> closure;

  @BeforeAll
  static void build() {
    store = new TestStore();
    key = Nix.generateKey("oranc-push-test-1");
    closure =
        store.build(
            List.of(
                new TestStore.Drv("dep", "mkdir $out; echo dependency > $out/file"),
                new TestStore.Drv("tree", TestStore.awkwardTree("tree contents"), List.of("dep")),
                new TestStore.Drv(
                    "file", "printf 'a single file, refers to %s' $deps > $out", List.of("dep")),
                new TestStore.Drv(
                    "top",
                    "mkdir $out; echo $out > $out/self; " + TestStore.REFER_TO_DEPS,
                    List.of("tree", "file"))));
  }

  @AfterAll
  static void delete() {
    if (store != null) {
      store.close();
    }
  }

  Registry registry() {
    return registries.get();
  }

  PushRunner runner() {
    return new PushRunner(registry(), key);
  }

  static List<String> closurePaths() {
    return List.copyOf(closure.values());
  }

  @Test
  void narInfosSayWhatNixSaysAndNarsAreExactlyWhatNixDumps(@TempDir Path tmp) throws Exception {
    String repo = "push/fields";
    PushReport report = runner().push(repo, List.of(closure.get("top")));
    assertTrue(report.succeeded(), report.summary().toString());
    assertEquals(4, report.count(Status.PUSHED));
    assertEquals(8, report.published());

    CacheReader cache = new CacheReader(registry(), repo);
    PublicKey publicKey = PublicKey.parse(key.publicKey());
    for (String path : closurePaths()) {
      NixPathInfo nix = NixPathInfo.of(path);
      NarInfo info =
          cache.narInfo(path).orElseThrow(() -> new AssertionError("no narinfo for " + path));
      assertEquals(path, info.storePath().toString());
      assertEquals(NixHash.parse(nix.narHash()), info.narHash(), path);
      assertEquals(nix.narSize(), info.narSize(), path);
      assertEquals(
          new TreeSet<>(nix.references()),
          info.references().stream()
              .map(StorePath::toString)
              .collect(Collectors.toCollection(TreeSet::new)),
          path);
      assertEquals(nix.deriver(), info.deriver().map(StorePath::toString).orElse(null), path);
      assertEquals(nix.ca(), info.ca().orElse(null), path);
      assertEquals("zstd", info.compression());
      assertEquals("nar/" + info.narHash().bareNix32() + ".nar.zst", info.url());
      // Nix's own signatures (none here) plus exactly ours, which verifies.
      Set<String> sigs =
          info.sigs().stream().map(NixSignature::toString).collect(Collectors.toSet());
      assertEquals(nix.signatures().size() + 1, sigs.size(), path);
      assertTrue(sigs.containsAll(nix.signatures()), path);
      NixSignature ours =
          info.sigs().stream()
              .filter(s -> s.keyName().equals(key.name()))
              .findFirst()
              .orElseThrow();
      assertTrue(publicKey.verify(info.fingerprint(), ours), path + ": our signature verifies");

      CacheReader.StoredFile nar = cache.file(info.url()).orElseThrow();
      assertEquals("application/x-nix-nar", nar.contentType());
      assertEquals(info.fileSize().getAsLong(), nar.bytes().length);
      assertEquals(
          NixHash.sha256(Digest.sha256(nar.bytes()).bytes()), info.fileHash().orElseThrow(), path);
      assertEquals("sha256:" + Digest.sha256(nar.bytes()).hex(), nar.digest());
      ByteArrayOutputStream dumped = new ByteArrayOutputStream();
      new NixStoreDump().writeNar(StorePath.parse(path), dumped);
      assertArrayEquals(
          dumped.toByteArray(), CacheReader.unzstd(nar.bytes()), path + ": NAR bytes");
      assertEquals(
          "text/x-nix-narinfo",
          cache.file(StorePath.parse(path).hashPart() + ".narinfo").orElseThrow().contentType());
    }

    // Real Nix reads the cache (a file:// mirror of the repository) and trusts our signatures.
    cache.mirror(tmp);
    Nix.Result verified =
        Nix.exec(
            null,
            Duration.ofMinutes(2),
            List.of(
                "nix",
                "store",
                "verify",
                "--store",
                "file://" + tmp,
                "--option",
                "trusted-public-keys",
                key.publicKey(),
                "-r",
                closure.get("top")));
    assertTrue(verified.succeeded(), verified.stderr());
  }

  @Test
  void aSecondRunUploadsNothingAndSaysSo() throws Exception {
    String repo = "push/again";
    assertTrue(runner().push(repo, List.of(closure.get("top"))).succeeded());
    registry().resetCounters();

    PushReport again = runner().push(repo, List.of(closure.get("top")));
    assertTrue(again.succeeded());
    assertEquals(4, again.count(Status.IN_REGISTRY));
    assertEquals(0, again.published());
    assertTrue(again.summary().get(0).startsWith("nothing to upload"), again.summary().get(0));
    List<ProxiedRequest> requests = registry().proxiedRequests();
    assertEquals(List.of(), writes(requests));
    // One request per path: its narinfo's manifest, whose annotation carries our signature; and
    // one per push for nix-cache-info (written if missing, see CacheInfoTest). (A fresh client
    // sends credentials only once the registry has asked: its first requests, made before the
    // first 401 came back, meet one each and go again.)
    assertEquals(5, requests.stream().filter(r -> r.status() != 401).count(), requests.toString());
    assertEquals(
        1,
        registry().proxiedRequests("GET", ".*/manifests/nix-cache-info").stream()
            .filter(r -> r.status() != 401)
            .count(),
        requests.toString());
    assertTrue(
        requests.stream().allMatch(r -> r.matches("GET", ".*/manifests/.*")), requests.toString());
    assertTrue(
        requests.stream()
            .filter(r -> r.status() == 401)
            .allMatch(r -> r.authorizationScheme() == null),
        requests.toString());
  }

  @Test
  void pathsWithTheSameContentShareOneNarUpload() throws Exception {
    // Different names, same bytes: the same NAR, so the same key nar/<NarHash>.nar.zst.
    Map<String, String> twins =
        store.build(
            List.of(
                new TestStore.Drv("twin-a", "echo the same bytes > $out"),
                new TestStore.Drv("twin-b", "echo the same bytes > $out"),
                new TestStore.Drv("twins", "echo $deps > $out", List.of("twin-a", "twin-b"))));
    String repo = "push/twins";
    registry().resetCounters();
    PushReport report = runner().push(repo, List.of(twins.get("twins")));
    assertTrue(report.succeeded(), report.summary().toString());
    CacheReader cache = new CacheReader(registry(), repo);
    NarInfo a = cache.narInfo(twins.get("twin-a")).orElseThrow();
    NarInfo b = cache.narInfo(twins.get("twin-b")).orElseThrow();
    assertEquals(a.url(), b.url());
    assertEquals(a.fileHash(), b.fileHash());
    String tag = "nar_L_" + a.narHash().bareNix32() + ".nar.zst";
    assertEquals(
        1,
        registry().proxiedRequests("PUT", ".*/manifests/" + tag).size(),
        registry().proxiedRequests().toString());
  }

  /** A second push, {@code later} after the first, as its clock tells (issue 17's refresh). */
  PushReport pushAgainLater(String repo, Duration later) throws Exception {
    byte[] stdin = (closure.get("top") + "\n").getBytes(StandardCharsets.UTF_8);
    PushReport report =
        new Push(runner().options(repo).build(), runner().environment())
            .clock(Clock.offset(Clock.systemUTC(), later))
            .run(new ByteArrayInputStream(stdin), Path.of("").toAbsolutePath(), System.err, false);
    assertTrue(report.succeeded(), report.summary().toString());
    assertEquals(4, report.count(Status.IN_REGISTRY));
    assertEquals(0, report.published());
    return report;
  }

  /**
   * What the refresh costs: nothing for paths pushed less than --refresh-older-than (30m) ago, the
   * same 5 requests as {@link #aSecondRunUploadsNothingAndSaysSo}; past it, per path one GET of its
   * NAR's manifest and one PUT each of the NAR's and the narinfo's manifests (no blob), each
   * manifest then dated by the push's clock.
   */
  @Test
  void aSecondRunRefreshesOnlyPathsOlderThanTheThreshold() throws Exception {
    String repo = "push/refresh";
    assertTrue(runner().push(repo, List.of(closure.get("top"))).succeeded());

    registry().resetCounters();
    pushAgainLater(repo, Duration.ofMinutes(29));
    List<ProxiedRequest> requests = registry().proxiedRequests();
    assertEquals(List.of(), writes(requests));
    assertEquals(5, requests.stream().filter(r -> r.status() != 401).count(), requests.toString());

    registry().resetCounters();
    pushAgainLater(repo, Duration.ofMinutes(31));
    requests = registry().proxiedRequests().stream().filter(r -> r.status() != 401).toList();
    List<ProxiedRequest> written = writes(requests);
    System.err.println(
        "refresh: " + requests.size() + " requests, " + written.size() + " writes for 4 old paths");
    assertEquals(8, written.size(), written.toString());
    assertTrue(
        written.stream().allMatch(r -> r.matches("PUT", ".*/manifests/.*")), written.toString());
    assertEquals(
        4, written.stream().filter(r -> r.uri().endsWith(".narinfo")).count(), written.toString());
    assertEquals(5 + 4 + 8, requests.size(), requests.toString());
    // Each narinfo's refresh comes after its NAR's.
    List<String> order = requests.stream().map(r -> r.method() + " " + r.uri()).toList();
    CacheReader cache = new CacheReader(registry(), repo);
    for (String path : closurePaths()) {
      String hash = StorePath.parse(path).hashPart();
      String url = cache.narInfo(path).orElseThrow().url();
      int narInfo = PushRequestsTest.indexOf(order, "PUT .*/manifests/" + hash + "\\.narinfo$");
      int nar =
          PushRequestsTest.indexOf(
              order,
              "PUT .*/manifests/" + Pattern.quote(TagCodec.DEFAULT.writeTag(url).value()) + "$");
      assertTrue(nar >= 0 && narInfo > nar, path + ": " + order);
    }

    // Refreshed: dated now (by that clock), so a third push within the threshold writes nothing.
    registry().resetCounters();
    pushAgainLater(repo, Duration.ofMinutes(31 + 20));
    assertEquals(List.of(), writes(registry().proxiedRequests()));
  }

  static List<ProxiedRequest> writes(List<ProxiedRequest> requests) {
    return requests.stream()
        .filter(r -> !r.method().equals("GET") && !r.method().equals("HEAD"))
        .toList();
  }

  @Test
  void aNarAlreadyThereIsReusedAndOnlyTheNarInfoGoesUp() throws Exception {
    String repo = "push/resume";
    assertTrue(runner().push(repo, List.of(closure.get("top"))).succeeded());
    CacheReader cache = new CacheReader(registry(), repo);
    Map<String, NarInfo> before = new HashMap<>();
    for (String path : closurePaths()) {
      before.put(path, cache.narInfo(path).orElseThrow());
      String tag = StorePath.parse(path).hashPart() + ".narinfo";
      byte[] manifest = registry().client().getManifest(repo, tag).orElseThrow();
      registry().client().deleteManifest(repo, RawClient.digest(manifest));
    }
    registry().resetCounters();

    PushReport again = runner().push(repo, List.of(closure.get("top")));
    assertTrue(again.succeeded(), again.summary().toString());
    assertEquals(4, again.count(Status.NARINFO_ONLY));
    assertEquals(4, again.published());
    // Only narinfos (and their config blobs) are written: no NAR is sent again, no NAR tag.
    List<ProxiedRequest> writes = writes(registry().proxiedRequests());
    Set<String> uploaded = Uploads.blobDigests(writes);
    assertEquals(8, uploaded.size(), "4 narinfos and their 4 configs: " + writes);
    for (ProxiedRequest w : writes) {
      assertTrue(w.bodyBytes() < 2000, "a small body: " + w);
      assertTrue(
          w.path().contains("/blobs/uploads/")
              || w.matches("PUT", "/v2/" + repo + "/manifests/[0-9a-z]{32}\\.narinfo"),
          w.toString());
    }
    for (NarInfo info : before.values()) {
      assertFalse(
          uploaded.contains(Uploads.narDigest(info)),
          info.storePath() + ": its NAR was not sent again");
    }
    for (String path : closurePaths()) {
      NarInfo now = cache.narInfo(path).orElseThrow();
      assertEquals(before.get(path).format(), now.format(), path);
    }
  }

  @Test
  void aDryRunWritesNothing() throws Exception {
    String repo = "push/dry";
    registry().resetCounters();
    PushReport report = runner().push(repo, List.of(closure.get("top")), o -> o.dryRun(true));
    assertTrue(report.succeeded());
    assertTrue(report.dryRun());
    assertEquals(4, report.count(Status.PUSHED));
    assertTrue(report.fileBytes() > 0);
    assertTrue(report.summary().get(0).startsWith("would push 4 paths"), report.summary().get(0));
    assertEquals(List.of(), writes(registry().proxiedRequests()));
    assertEquals(List.of(), new CacheReader(registry(), repo).keys());
  }

  @Test
  void noClosurePushesTheInputOnly() throws Exception {
    String repo = "push/noclosure";
    PushReport report = runner().push(repo, List.of(closure.get("file")), o -> o.noClosure(true));
    assertEquals(1, report.outcomes().size());
    assertEquals(Status.PUSHED, report.outcomes().get(0).status());
    assertEquals(
        Set.of(
            "nar/"
                + NixHash.parse(NixPathInfo.of(closure.get("file")).narHash()).bareNix32()
                + ".nar.zst",
            StorePath.parse(closure.get("file")).hashPart() + ".narinfo",
            Push.NIX_CACHE_INFO),
        Set.copyOf(new CacheReader(registry(), repo).keys()));
  }

  @Test
  void initializeWritesNixCacheInfo() throws Exception {
    String repo = "push/init";
    PushRunner r = runner();
    new Push(r.options(repo).build(), r.environment()).initialize(41, true);
    CacheReader.StoredFile file =
        new CacheReader(registry(), repo).file("nix-cache-info").orElseThrow();
    assertEquals("text/x-nix-cache-info", file.contentType());
    assertEquals(
        "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n",
        new String(file.bytes(), StandardCharsets.UTF_8));

    new Push(r.options(repo).build(), r.environment()).initialize(30, false);
    file = new CacheReader(registry(), repo).file("nix-cache-info").orElseThrow();
    assertEquals(
        "StoreDir: /nix/store\nWantMassQuery: 0\nPriority: 30\n",
        new String(file.bytes(), StandardCharsets.UTF_8));
  }

  @Test
  void symlinksToTheStoreAreFollowedAndRepeatsMerged(@TempDir Path tmp) throws Exception {
    Path result = tmp.resolve("result");
    Files.createSymbolicLink(result, Path.of(closure.get("file")));
    Path link = tmp.resolve("link-to-result");
    Files.createSymbolicLink(link, Path.of("result")); // relative, via another link
    String repo = "push/links";
    PushReport report =
        runner()
            .push(
                repo,
                List.of("", "  " + link + "  ", result.toString(), closure.get("file"), ""),
                o -> o.noClosure(true));
    assertEquals(1, report.outcomes().size());
    assertEquals(closure.get("file"), report.outcomes().get(0).path().toString());
  }

  @Test
  void aNarHashThatDiffersFromTheDatabaseFailsThePathAndNamesBothHashes() throws Exception {
    // The NAR of another path stands in for this one's: what a corrupted store would give.
    StorePath victim = StorePath.parse(closure.get("file"));
    StorePath other = StorePath.parse(closure.get("dep"));
    PushRunner r = runner();
    String repo = "push/corrupt";
    registry().resetCounters();
    PushReport report =
        new Push(r.options(repo).build(), r.environment())
            .narSource(
                (path, out) -> new NixStoreDump().writeNar(path.equals(victim) ? other : path, out))
            .run(
                new ByteArrayInputStream((victim + "\n").getBytes()),
                Path.of("/"),
                System.err,
                false);
    PathOutcome failed =
        report.outcomes().stream().filter(o -> o.path().equals(victim)).findFirst().orElseThrow();
    assertEquals(Status.FAILED, failed.status());
    String dbHash = NixHash.parse(NixPathInfo.of(victim.toString()).narHash()).toNix32();
    String otherHash = NixHash.parse(NixPathInfo.of(other.toString()).narHash()).toNix32();
    assertTrue(failed.detail().contains(victim.toString()), failed.detail());
    assertTrue(failed.detail().contains(dbHash), failed.detail());
    assertTrue(failed.detail().contains(otherHash), failed.detail());
    assertFalse(report.succeeded());
    CacheReader cache = new CacheReader(registry(), repo);
    assertFalse(cache.narInfo(victim).isPresent());
    assertEquals(
        List.of(other.hashPart() + ".narinfo"),
        cache.keys().stream().filter(k -> k.endsWith(".narinfo")).toList());
    assertFalse(cache.keys().contains("nar/" + dbHash.substring(7) + ".nar.zst"));
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
