package dev.oranc.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.Push;
import dev.oranc.push.PushOptions;
import dev.oranc.push.PushReport;
import dev.oranc.retention.check.CacheCheck;
import dev.oranc.retention.gc.DeleteThrottle;
import dev.oranc.retention.gc.Deleter;
import dev.oranc.retention.gc.GarbageCollector;
import dev.oranc.retention.gc.GcOptions;
import dev.oranc.retention.gc.GcSummary;
import dev.oranc.retention.github.GithubDeleter;
import dev.oranc.retention.github.GithubPackages;
import dev.oranc.retention.pin.Pins;
import dev.oranc.retention.scan.CacheScanner;
import dev.oranc.retention.scan.KeyKind;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code pin}, {@code gc} and {@code check} end to end: real Nix store paths pushed by {@code oranc
 * push} into the real registry (token auth, as ghcr.io, so the delete scope is exercised), then
 * collected.
 *
 * <p>Closures: A → D, B → D and E → F, C alone. A is pinned, so gc keeps A and D (shared with B)
 * and deletes B, E, F and C, narinfos and NARs.
 */
class RetentionTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.TOKEN);

  static Nix nix;
  static Nix.KeyPair key;
  static Nix.StorePathInfo a, b, c, d, e, f;
  static final AtomicInteger repositories = new AtomicInteger();

  @BeforeAll
  static void build() {
    nix = new Nix();
    key = Nix.generateKey("oranc-gc-test-1");
    d = nix.build("shared-dep", "the dependency A and B share");
    a = nix.build("a", "A, pinned", List.of(d.path()));
    f = nix.build("f", "F, only under E");
    e = nix.build("e", "E, only under B", List.of(f.path()));
    b = nix.build("b", "B", List.of(d.path(), e.path()));
    c = nix.build("c", "C, alone");
  }

  @AfterAll
  static void delete() {
    if (nix != null) {
      nix.close();
    }
  }

  Registry registry() {
    return registries.get();
  }

  Map<String, String> environment() {
    return TestCaches.pushEnvironment(key);
  }

  String freshRepository() {
    return "gc/test" + repositories.incrementAndGet();
  }

  PushReport push(String address, String repository, String... paths) throws Exception {
    byte[] stdin = (String.join("\n", paths) + "\n").getBytes(StandardCharsets.UTF_8);
    PushReport report =
        new Push(PushOptions.builder(address, repository).noSsl(true).build(), environment())
            .run(new ByteArrayInputStream(stdin), Path.of("").toAbsolutePath(), System.err, false);
    assertTrue(report.succeeded(), report.summary().toString());
    return report;
  }

  CacheTarget target(String address, String repository) {
    return TestCaches.target(address, repository);
  }

  /** The cache pushed and pinned as the class comment says. */
  String pushedAndPinned() throws Exception {
    String repo = freshRepository();
    push(registry().address(), repo, a.path(), b.path(), c.path());
    try (CacheTarget t = target(registry().address(), repo)) {
      new Pins(t).set("prod", List.of(StorePath.parse(a.path())));
    }
    return repo;
  }

  static GcOptions gcOptions(Duration keep, Duration grace, boolean dryRun, int parallelism) {
    return new GcOptions(keep, grace, false, dryRun, parallelism, 0);
  }

  GcSummary gc(String repo, GcOptions options) throws Exception {
    try (CacheTarget t = target(registry().address(), repo)) {
      GcSummary s = new GarbageCollector(t, options, Clock.systemUTC()).run();
      s.lines().forEach(System.err::println);
      return s;
    }
  }

  List<String> check(String repo) throws InterruptedException {
    try (CacheTarget t = target(registry().address(), repo)) {
      return CacheCheck.problems(
          new CacheScanner(t, 4, List.of(PublicKey.parse(key.publicKey()))).scan());
    }
  }

  Set<String> tags(String repo) {
    return new TreeSet<>(registry().tags(repo));
  }

  static String narinfo(Nix.StorePathInfo p) {
    return p.hashPart() + ".narinfo";
  }

  @Test
  void gcKeepsExactlyThePinnedClosureAndASecondRunDeletesNothing() throws Exception {
    String repo = pushedAndPinned();
    assertEquals(List.of(), check(repo));
    Set<String> before = tags(repo);
    assertEquals(
        14,
        before.size(),
        before.toString()); // 6 narinfos, 6 NARs, the pin, nix-cache-info (push writes it)

    GcSummary dry = gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, true, 4));
    assertEquals(before, tags(repo), "a dry run deletes nothing");
    assertEquals(4, dry.narinfosDeleted());
    assertEquals(4, dry.narsDeleted());
    assertFalse(dry.sample().isEmpty());
    assertTrue(dry.bytesFreed() > 0);

    GcSummary run = gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, false, 4));
    assertTrue(run.succeeded(), run.lines().toString());
    assertEquals(4, run.narinfosDeleted());
    assertEquals(4, run.narsDeleted());
    assertEquals(2, run.narinfosKept());
    assertEquals(2, run.narsKept());
    assertEquals(2, run.otherKept()); // the pin and nix-cache-info
    assertEquals(dry.bytesFreed(), run.bytesFreed());
    assertEquals(0, run.undated());

    Set<String> after = tags(repo);
    assertTrue(after.contains(narinfo(a)) && after.contains(narinfo(d)), after.toString());
    assertTrue(after.contains(TagCodec.DEFAULT.writeTag("pins/prod").value()), after.toString());
    for (Nix.StorePathInfo gone : List.of(b, c, e, f)) {
      assertFalse(after.contains(narinfo(gone)), gone + " in " + after);
    }
    assertEquals(
        6, after.size(), after.toString()); // A, D (narinfos and NARs), the pin, nix-cache-info
    assertEquals(List.of(), check(repo));

    GcSummary again = gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, false, 4));
    assertEquals(0, again.deleted());
    assertEquals(after, tags(repo));
  }

  /** A scan reads every key, 8 at a time, with one token: concurrent reads share its fetch. */
  @Test
  void aScanFetchesOneToken() throws Exception {
    String repo = pushedAndPinned();
    registry().resetCounters();
    try (CacheTarget t = target(registry().address(), repo)) {
      var scan = new CacheScanner(t, 8, List.of()).scan();
      assertEquals(14, scan.keys().size());
    }
    assertEquals(1, registry().tokenRequests(), registry().tokenRequestLog().toString());
    assertEquals(
        14,
        registry().accessLog("GET", ".*/manifests/.*").stream()
            .filter(e -> e.status() == 200)
            .count());
  }

  @Test
  void keepDaysKeepsAFreshPushAndGraceProtectsIt() throws Exception {
    String repo = freshRepository();
    push(registry().address(), repo, b.path(), c.path());
    Set<String> before = tags(repo);
    assertEquals(0, gc(repo, gcOptions(Duration.ofDays(1), Duration.ZERO, false, 4)).deleted());
    assertEquals(0, gc(repo, gcOptions(Duration.ZERO, Duration.ofHours(1), false, 4)).deleted());
    assertEquals(before, tags(repo));
  }

  @Test
  void aRegistryThatRefusesDeletesGetsOneClearLine() throws Exception {
    String repo = pushedAndPinned();
    try (FaultInjector refusing =
        new FaultInjector(registry().address(), registry().tokenRealm())) {
      refusing.add(
          FaultInjector.Rule.of("DELETE", "/manifests/", FaultInjector.Fault.status(405), -1));
      try (CacheTarget t = target(refusing.address(), repo)) {
        RetentionException ex =
            assertThrows(
                RetentionException.class,
                () ->
                    new GarbageCollector(
                            t, gcOptions(Duration.ZERO, Duration.ZERO, false, 4), Clock.systemUTC())
                        .run());
        assertTrue(ex.getMessage().contains("storage.delete.enabled"), ex.getMessage());
        assertFalse(ex.getMessage().contains("\n"), ex.getMessage());
      }
    }
    assertEquals(14, tags(repo).size());
  }

  @Test
  void aDeleteStillRateLimitedAfterTheClientsRetriesWaitsForRetryAfterAndGcGoesOn()
      throws Exception {
    String repo = pushedAndPinned();
    List<Duration> waits = new ArrayList<>();
    try (FaultInjector limiting =
        new FaultInjector(registry().address(), registry().tokenRealm())) {
      // Longer than the client waits itself (its budget, 30 s), so the 429 reaches gc.
      limiting.add(
          FaultInjector.Rule.of(
              "DELETE", "/manifests/", FaultInjector.Fault.status(429, "Retry-After", "120"), 1));
      try (CacheTarget t = target(limiting.address(), repo)) {
        GcSummary s =
            new GarbageCollector(
                    t, gcOptions(Duration.ZERO, Duration.ZERO, false, 2), Clock.systemUTC())
                .pacing(new DeleteThrottle(0, () -> 0, waits::add), waits::add)
                .run();
        assertTrue(s.succeeded(), s.lines().toString());
        assertEquals(8, s.deleted());
      }
      assertEquals(1, limiting.injectedCount());
    }
    assertEquals(List.of(Duration.ofSeconds(120)), waits);
    assertEquals(List.of(), check(repo));
  }

  @Test
  void aStormOfShortRateLimitsIsWaitedOutByTheClientAndGcNeverSeesIt() throws Exception {
    String repo = pushedAndPinned();
    List<Duration> waits = new ArrayList<>();
    try (FaultInjector limiting =
        new FaultInjector(registry().address(), registry().tokenRealm())) {
      // More 429s than the client's attempts (3), each asking for no wait: the client's window
      // narrows and goes on, within its time budget.
      limiting.add(
          FaultInjector.Rule.of(
              "DELETE", "/manifests/", FaultInjector.Fault.status(429, "Retry-After", "0"), 6));
      try (CacheTarget t = target(limiting.address(), repo)) {
        GcSummary s =
            new GarbageCollector(
                    t, gcOptions(Duration.ZERO, Duration.ZERO, false, 2), Clock.systemUTC())
                .pacing(new DeleteThrottle(0, () -> 0, waits::add), waits::add)
                .run();
        assertTrue(s.succeeded(), s.lines().toString());
        assertEquals(8, s.deleted());
        assertEquals(6, t.client().throttling().rateLimitAnswers());
      }
      assertEquals(6, limiting.injectedCount());
    }
    assertEquals(List.of(), waits, "gc itself never waited");
    assertEquals(List.of(), check(repo));
  }

  @Test
  void theCacheIsConsistentAfterEveryDeleteAndAStoppedRunIsFinishedByTheNext() throws Exception {
    String repo = pushedAndPinned();
    List<String> deletedKeys = new ArrayList<>();
    try (CacheTarget t = target(registry().address(), repo)) {
      var real = Deleter.of(t);
      // One at a time, the whole cache checked after each delete: every instant a kill -9 could
      // stop at. Stopped (as by a kill) after the fifth.
      RuntimeException stop = new IllegalStateException("stopped after 5 deletes");
      RuntimeException thrown =
          assertThrows(
              RuntimeException.class,
              () ->
                  new GarbageCollector(
                          t, gcOptions(Duration.ZERO, Duration.ZERO, false, 1), Clock.systemUTC())
                      .deleter(
                          k -> {
                            if (deletedKeys.size() == 5) {
                              throw stop;
                            }
                            boolean deleted = real.delete(k);
                            deletedKeys.add(k.key());
                            assertEquals(List.of(), check(repo), "after deleting " + deletedKeys);
                            return deleted;
                          })
                      .run());
      assertEquals(stop, thrown);
    }
    assertEquals(5, deletedKeys.size());
    assertEquals(List.of(), check(repo));

    GcSummary rest = gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, false, 4));
    assertEquals(3, rest.deleted(), rest.lines().toString());
    assertEquals(6, tags(repo).size());
    assertEquals(List.of(), check(repo));
    assertEquals(0, gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, false, 4)).deleted());
  }

  @Test
  void checkReportsAMissingNarAReferenceWithoutNarinfoAndAnUntrustedSignature() throws Exception {
    String repo = freshRepository();
    push(registry().address(), repo, a.path(), b.path());
    try (CacheTarget t = target(registry().address(), repo)) {
      var scan = new CacheScanner(t, 2, List.of()).scan();
      // D's narinfo, which A and B both reference, and E's, which B references.
      for (Nix.StorePathInfo gone : List.of(d, e)) {
        var key =
            scan.keys().stream()
                .filter(k -> k.key().equals(narinfo(gone)))
                .findFirst()
                .orElseThrow();
        Deleter.of(t).delete(key);
      }
      var fNar =
          scan.keys().stream()
              .filter(k -> k.key().equals(scan.narinfos().get(narinfo(f)).narKey()))
              .findFirst()
              .orElseThrow();
      Deleter.of(t).delete(fNar);
    }
    // One line per missing path, however many narinfos reference it.
    List<String> problems = check(repo);
    assertEquals(3, problems.size(), problems.toString());
    assertTrue(
        problems.contains(
            d.hashPart()
                + ": has no narinfo, but 2 narinfos reference it ("
                + List.of(narinfo(a), narinfo(b)).stream().sorted().findFirst().orElseThrow()
                + ", …)"),
        problems.toString());
    assertTrue(
        problems.contains(e.hashPart() + ": has no narinfo, but " + narinfo(b) + " references it"),
        problems.toString());
    assertTrue(
        problems.stream().anyMatch(p -> p.startsWith(narinfo(f)) && p.contains("missing")),
        problems.toString());
    try (CacheTarget t = target(registry().address(), repo)) {
      CacheCheck.Result allowed = CacheCheck.check(new CacheScanner(t, 2, List.of()).scan());
      assertEquals(2, allowed.missingReferences().size());
      assertEquals(2, allowed.referrers()); // A and B
      List<String> lines = allowed.lines(true);
      assertEquals(1, lines.size(), lines.toString());
      assertTrue(lines.get(0).startsWith(narinfo(f)), lines.toString());
    }

    try (CacheTarget t = target(registry().address(), repo)) {
      Nix.KeyPair other = Nix.generateKey("someone-else-1");
      List<String> untrusted =
          CacheCheck.problems(
              new CacheScanner(t, 2, List.of(PublicKey.parse(other.publicKey()))).scan());
      assertTrue(
          untrusted.stream()
              .anyMatch(p -> p.startsWith(narinfo(b)) && p.contains("oranc-gc-test-1")),
          untrusted.toString());
    }
  }

  @Test
  void anUnreadablePinStopsGcBeforeAnyDeleteAndAForeignImageIsLeftAlone() throws Exception {
    String repo = pushedAndPinned();
    // Another tool's image under a tag of its own: two layers, not a cache file.
    String layer1 = registry().putBlob(repo, "one".getBytes(StandardCharsets.UTF_8));
    String layer2 = registry().putBlob(repo, "two".getBytes(StandardCharsets.UTF_8));
    String config = registry().putBlob(repo, "{}".getBytes(StandardCharsets.UTF_8));
    String foreign =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
            + config
            + "\",\"size\":2},"
            + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
            + layer1
            + "\",\"size\":3},"
            + "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
            + layer2
            + "\",\"size\":3}]}";
    registry()
        .putManifest(
            repo,
            "latest",
            "application/vnd.oci.image.manifest.v1+json",
            foreign.getBytes(StandardCharsets.UTF_8));
    try (CacheTarget t = target(registry().address(), repo)) {
      byte[] bad = "not a store path\n".getBytes(StandardCharsets.UTF_8);
      var blob =
          CacheTarget.await(
              t.client()
                  .putBlob(
                      t.repository(),
                      bad,
                      null,
                      ImageLayout.LAYER_MEDIA_TYPE,
                      t.credentials(),
                      null));
      CacheTarget.await(
          t.cache()
              .publish(
                  t.repository(),
                  "pins/broken",
                  blob,
                  Pins.CONTENT_TYPE,
                  null,
                  t.credentials(),
                  null));
    }
    Set<String> before = tags(repo);
    RetentionException ex =
        assertThrows(
            RetentionException.class,
            () -> gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, false, 4)));
    assertTrue(ex.getMessage().contains("pin broken cannot be read"), ex.getMessage());
    assertEquals(before, tags(repo));

    try (CacheTarget t = target(registry().address(), repo)) {
      new Pins(t).remove("broken");
    }
    GcSummary s = gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, false, 4));
    assertEquals(8, s.deleted());
    assertTrue(tags(repo).contains("latest"));
    // check reports the foreign image as a key it cannot read, and nothing else.
    List<String> problems = check(repo);
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).startsWith("latest: not a cache file's image"), problems.toString());
  }

  @Test
  void whereOciDeletesAreRefusedAsOnGhcrGcDeletesPackageVersionsThroughTheGithubApi()
      throws Exception {
    String repo = pushedAndPinned();
    try (FaultInjector noOciDeletes =
            new FaultInjector(registry().address(), registry().tokenRealm());
        GithubStandIn github = new GithubStandIn(registry(), "gh-token")) {
      noOciDeletes.add(
          FaultInjector.Rule.of("DELETE", "/manifests/", FaultInjector.Fault.status(405), -1));
      String cNar;
      try (CacheTarget t = target(registry().address(), repo)) {
        var scan = new CacheScanner(t, 2, List.of()).scan();
        String cNarKey = scan.narinfos().get(narinfo(c)).narKey();
        cNar =
            scan.keys().stream()
                .filter(k -> k.key().equals(cNarKey))
                .findFirst()
                .orElseThrow()
                .manifestDigest()
                .toString();
      }
      github.undeletable.add(cNar); // as GitHub refuses a public version downloaded 5,000 times

      try (CacheTarget t = target(noOciDeletes.address(), repo)) {
        var wrongToken =
            new GithubDeleter(
                new GithubPackages(
                    GithubPackages.newHttpClient(), github.api(), repo, "not-the-token"));
        RetentionException refused =
            assertThrows(
                RetentionException.class,
                () ->
                    new GarbageCollector(
                            t, gcOptions(Duration.ZERO, Duration.ZERO, false, 2), Clock.systemUTC())
                        .deleter(wrongToken)
                        .run());
        assertTrue(refused.getMessage().contains("401"), refused.getMessage());
        assertFalse(refused.getMessage().contains("not-the-token"), refused.getMessage());

        var deleter =
            new GithubDeleter(
                new GithubPackages(GithubPackages.newHttpClient(), github.api(), repo, "gh-token"));
        GcSummary s =
            new GarbageCollector(
                    t, gcOptions(Duration.ZERO, Duration.ZERO, false, 2), Clock.systemUTC())
                .deleter(deleter)
                .run();
        s.lines().forEach(System.err::println);
        assertEquals(7, s.deleted(), s.lines().toString());
        assertEquals(1, s.failed());
        assertTrue(
            s.failures().get(0).contains("more than 5000 downloads"), s.failures().toString());
      }
      assertEquals(0, noOciDeletes.injectedCount(), "no OCI delete was tried");
      assertTrue(
          github.requests.stream().anyMatch(r -> r.startsWith("GET ") && r.contains("page=")),
          "the versions were read page by page: " + github.requests);
    }
    Set<String> left = tags(repo);
    assertEquals(
        7,
        left.size(),
        left.toString()); // A, D (narinfos and NARs), the pin, C's NAR, nix-cache-info
    assertEquals(List.of(), check(repo));
  }

  /**
   * Deleting manifests frees no disk; the registry's own {@code garbage-collect} does. Measured on
   * the registry's storage: 20 paths of 256 KiB NARs, 10 pinned; the figures go to the log (and
   * OPERATIONS.md).
   */
  @Test
  void theRegistrysGarbageCollectGivesBackTheSpaceOfWhatGcDeleted() throws Exception {
    String repo = freshRepository();
    List<List<String>> chains;
    try (CacheTarget t = target(registry().address(), repo)) {
      chains =
          SyntheticCache.write(t.cache(), t.repository(), t.credentials(), 10, 2, 256 * 1024, 5);
      List<StorePath> pinned = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        pinned.add(StorePath.parse(chains.get(i).get(1)));
      }
      new Pins(t).set("half", pinned);
    }
    long before = storageBytes();
    GcSummary s = gc(repo, gcOptions(Duration.ZERO, Duration.ZERO, false, 4));
    assertEquals(10, s.narinfosDeleted());
    assertEquals(10, s.narsDeleted());
    long afterGc = storageBytes();

    Path config = Files.createTempFile("oranc-gc-registry", ".yml");
    try {
      Files.writeString(
          config,
          "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: '"
              + registry().storageDir().toString().replace("'", "''")
              + "'\n  delete:\n    enabled: true\n");
      Process collect =
          new ProcessBuilder(
                  System.getProperty(Registry.BINARY_PROPERTY, "docker-registry"),
                  "garbage-collect",
                  "--delete-untagged",
                  config.toString())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      assertTrue(collect.waitFor(2, TimeUnit.MINUTES), "garbage-collect did not finish");
      assertEquals(0, collect.exitValue(), "garbage-collect failed");
    } finally {
      Files.deleteIfExists(config);
    }
    long afterCollect = storageBytes();
    System.err.printf(
        "storage: %d bytes before gc, %d after gc (%d freed), %d after garbage-collect (%d freed);"
            + " gc counted %d bytes of layers%n",
        before, afterGc, before - afterGc, afterCollect, before - afterCollect, s.bytesFreed());
    assertTrue(
        before - afterGc < s.bytesFreed() / 10,
        "deleting manifests frees almost nothing by itself");
    assertTrue(
        before - afterCollect >= s.bytesFreed(),
        "garbage-collect frees at least the layers gc deleted");
    try (CacheTarget t = target(registry().address(), repo)) {
      var scan = new CacheScanner(t, 4, List.of()).scan();
      assertEquals(List.of(), CacheCheck.problems(scan));
      // What was kept still reads, byte for byte as its digest says.
      for (var k : scan.ofKind(KeyKind.NAR)) {
        assertEquals(
            256 * 1024,
            CacheTarget.await(
                    t.client()
                        .getBlobBytes(
                            t.repository(), k.layerDigest(), 256 * 1024, t.credentials(), null))
                .length);
      }
      assertEquals(10, scan.ofKind(KeyKind.NAR).size());
    }
  }

  /** The bytes of every file under the registry's storage. */
  long storageBytes() throws IOException {
    try (var files = Files.walk(registry().storageDir())) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  @Test
  void pinsAreListedCountedAndRemoved() throws Exception {
    String repo = freshRepository();
    try (CacheTarget t = target(registry().address(), repo)) {
      Pins pins = new Pins(t);
      pins.set("prod", List.of(StorePath.parse(a.path()), StorePath.parse(b.path())));
      pins.set("staging", List.of(StorePath.parse(c.path())));
      pins.set("prod", List.of(StorePath.parse(a.path())));
      assertEquals(List.of(new Pins.Pin("prod", 1), new Pins.Pin("staging", 1)), pins.list());
      pins.remove("staging");
      assertEquals(List.of(new Pins.Pin("prod", 1)), pins.list());
      RetentionException gone =
          assertThrows(RetentionException.class, () -> pins.remove("staging"));
      assertTrue(gone.getMessage().contains("no pin staging"), gone.getMessage());
      assertThrows(IllegalArgumentException.class, () -> Pins.key("../etc"));
    }
    byte[] body = registry().getBlob(repo, digestOfPin(repo));
    assertEquals(a.path() + "\n", new String(body, StandardCharsets.UTF_8));
  }

  String digestOfPin(String repo) {
    String manifest =
        new String(
            registry()
                .getManifest(repo, TagCodec.DEFAULT.writeTag("pins/prod").value())
                .orElseThrow(),
            StandardCharsets.UTF_8);
    assertTrue(manifest.contains("text/plain; charset=utf-8"), manifest);
    int i = manifest.indexOf("\"layers\"");
    int at = manifest.indexOf("sha256:", i);
    return manifest.substring(at, at + 71);
  }
}
