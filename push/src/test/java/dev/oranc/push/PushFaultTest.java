package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.narinfo.NarInfoMaker;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.FaultInjector.Fault;
import dev.oranc.testkit.FaultInjector.Rule;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Registry faults during a push, in each phase of it — token fetch, blob upload (start, PATCH of a
 * large NAR, the closing PUT), manifest PUT — injected between the push and a real token registry
 * by {@link FaultInjector} (testkit). After every push, whatever its outcome, the cache must be
 * consistent: every narinfo's NAR and every narinfo of its references are there. Then:
 *
 * <ul>
 *   <li>a transient fault (the first such request fails) is retried and the push completes;
 *   <li>a persistent fault on one path fails that path and what refers to it, and the rest is
 *       pushed; a persistent token failure fails every path and writes nothing;
 *   <li>a later push without faults completes the cache.
 * </ul>
 *
 * Complements {@code OrderAndIsolationTest} (a persistent manifest fault, order of uploads) and
 * {@code CrashResumeTest} (a push killed half-way).
 */
class PushFaultTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.TOKEN);

  static TestStore store;
  static Nix.KeyPair key;
  static Map<String, String> paths;
  static final List<String> NAMES = List.of("big", "leaf", "mid", "top", "lone");

  /** {@code big}'s NAR (5 MB of random bytes) is larger than a PATCH chunk; the rest are tiny. */
  @BeforeAll
  static void build() {
    store = new TestStore();
    key = Nix.generateKey("oranc-push-faults-1");
    paths =
        store.build(
            List.of(
                new TestStore.Drv("big", "mkdir $out; head -c 5000000 /dev/urandom > $out/data"),
                new TestStore.Drv("leaf", "mkdir $out; echo leaf > $out/x"),
                new TestStore.Drv(
                    "mid", "mkdir $out; " + TestStore.REFER_TO_DEPS, List.of("big", "leaf")),
                new TestStore.Drv("top", "mkdir $out; " + TestStore.REFER_TO_DEPS, List.of("mid")),
                new TestStore.Drv("lone", "mkdir $out; echo lone > $out/x")));
  }

  @AfterAll
  static void delete() {
    store.close();
  }

  private static Registry registry() {
    return registries.get();
  }

  private static String fresh(String what) {
    return "faults/" + what + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static PushReport push(FaultInjector faults, String repo) throws Exception {
    PushOptions options =
        PushOptions.builder(faults.address(), repo).noSsl(true).maxRetry(3).build();
    return PushRunner.push(
        options,
        new PushRunner(registry(), key).environment(),
        List.of(paths.get("top"), paths.get("lone")));
  }

  private static Map<String, Status> byName(PushReport report) {
    Map<String, Status> m = new HashMap<>();
    for (String name : NAMES) {
      for (PathOutcome o : report.outcomes()) {
        if (o.path().toString().equals(paths.get(name))) {
          m.put(name, o.status());
        }
      }
    }
    return m;
  }

  /**
   * No narinfo names a missing NAR, nor a reference without its narinfo; returns the pushed names.
   */
  static Set<String> assertConsistent(String repo) {
    CacheReader cache = new CacheReader(registry(), repo);
    Set<String> keys = Set.copyOf(cache.keys());
    Set<String> present = new HashSet<>();
    for (String name : NAMES) {
      StorePath p = StorePath.parse(paths.get(name));
      if (!keys.contains(p.hashPart() + ".narinfo")) {
        continue;
      }
      present.add(name);
      NarInfo info = cache.narInfo(p).orElseThrow();
      assertTrue(keys.contains(info.url()), name + "'s narinfo names a missing NAR " + info.url());
      assertEquals(NixPathInfo.of(p.toString()).narSize(), cache.nar(info).length, name + "'s NAR");
      for (StorePath ref : info.references()) {
        assertTrue(
            keys.contains(ref.hashPart() + ".narinfo"),
            name + " refers to " + ref + ", which has no narinfo");
      }
    }
    return present;
  }

  enum Phase {
    TOKEN("GET", "^/token"),
    UPLOAD_START("POST", "/blobs/uploads/(\\?.*)?$"),
    UPLOAD_PATCH("PATCH", "/blobs/uploads/"),
    UPLOAD_END("PUT", "/blobs/uploads/.*digest="),
    MANIFEST("PUT", "/manifests/");

    final String method;
    final String target;

    Phase(String method, String target) {
      this.method = method;
      this.target = target;
    }
  }

  static Stream<Arguments> transientFaults() {
    return Stream.of(
        Arguments.of(Phase.TOKEN, Fault.status(503)),
        Arguments.of(Phase.TOKEN, Fault.reset()),
        Arguments.of(Phase.UPLOAD_START, Fault.status(500)),
        Arguments.of(Phase.UPLOAD_START, Fault.status(429, "Retry-After", "1")),
        Arguments.of(Phase.UPLOAD_PATCH, Fault.status(502)),
        Arguments.of(Phase.UPLOAD_PATCH, Fault.reset()),
        Arguments.of(Phase.UPLOAD_END, Fault.status(500)),
        Arguments.of(Phase.UPLOAD_END, Fault.reset()),
        Arguments.of(Phase.MANIFEST, Fault.status(503)),
        Arguments.of(Phase.MANIFEST, Fault.reset()));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("transientFaults")
  void aTransientFaultIsRetriedAndThePushCompletes(Phase phase, Fault fault) throws Exception {
    String repo = fresh(phase.name().toLowerCase());
    try (FaultInjector faults = new FaultInjector(registry().address(), registry().tokenRealm())) {
      faults.add(Rule.of(phase.method, phase.target, fault, 1));
      PushReport report = push(faults, repo);
      assertEquals(1, faults.injected().size(), "the fault was not met: " + faults.requests());
      Set<String> present = assertConsistent(repo);
      assertTrue(report.succeeded(), phase + " " + fault + ": " + report.summary());
      assertEquals(Set.copyOf(NAMES), present);
    }
  }

  /** The digest ({@code sha256:<hex>}) of the compressed NAR a push uploads for {@code name}. */
  private static String blobDigest(String name) throws Exception {
    String scratch = fresh("scratch");
    try (FaultInjector none = new FaultInjector(registry().address(), registry().tokenRealm())) {
      assertTrue(push(none, scratch).succeeded());
    }
    NarInfo info = new CacheReader(registry(), scratch).narInfo(paths.get(name)).orElseThrow();
    return "sha256:" + info.fileHash().orElseThrow().bareBase16();
  }

  private void assertOnlyFailed(PushReport report, String victim, Set<String> dependents) {
    Map<String, Status> got = byName(report);
    assertFalse(report.succeeded());
    assertEquals(Status.FAILED, got.get(victim), got.toString());
    for (String name : NAMES) {
      if (dependents.contains(name)) {
        assertEquals(Status.DEPENDENCY_FAILED, got.get(name), name + " " + got);
      } else if (!name.equals(victim)) {
        assertEquals(Status.PUSHED, got.get(name), name + " " + got);
      }
    }
  }

  /** Pushes again without faults: the cache becomes complete. */
  private static void assertRecovers(FaultInjector faults, String repo) throws Exception {
    faults.clear();
    PushReport again = push(faults, repo);
    assertTrue(again.succeeded(), again.summary().toString());
    assertEquals(Set.copyOf(NAMES), assertConsistent(repo));
  }

  @Test
  void aBlobUploadThatAlwaysFailsFailsThatPathAndItsDependentsOnly() throws Exception {
    String digest = blobDigest("leaf");
    String repo = fresh("blob");
    try (FaultInjector faults = new FaultInjector(registry().address(), registry().tokenRealm())) {
      faults.add(
          Rule.of(
              "PUT",
              "/blobs/uploads/.*digest=" + digest.replace(":", "(:|%3A)"),
              Fault.status(500),
              -1));
      PushReport report = push(faults, repo);
      assertEquals(3, faults.injected().size(), "--max-retry 3 attempts: " + faults.injected());
      assertOnlyFailed(report, "leaf", Set.of("mid", "top"));
      assertEquals(Set.of("big", "lone"), assertConsistent(repo));
      assertRecovers(faults, repo);
    }
  }

  @Test
  void aLargeNarWhosePatchesAlwaysFailFailsThatPathAndItsDependentsOnly() throws Exception {
    String repo = fresh("patch");
    try (FaultInjector faults = new FaultInjector(registry().address(), registry().tokenRealm())) {
      faults.add(Rule.of("PATCH", "/blobs/uploads/", Fault.reset(), -1));
      PushReport report = push(faults, repo);
      assertFalse(faults.injected().isEmpty());
      assertOnlyFailed(report, "big", Set.of("mid", "top"));
      assertEquals(Set.of("leaf", "lone"), assertConsistent(repo));
      assertRecovers(faults, repo);
    }
  }

  @Test
  void aManifestRateLimitedForAnHourFailsThatPathPromptly() throws Exception {
    String repo = fresh("ratelimit");
    String leafNarTag =
        TagCodec.DEFAULT
            .writeTag(
                NarInfoMaker.narKey(NixHash.parse(NixPathInfo.of(paths.get("leaf")).narHash())))
            .value();
    try (FaultInjector faults = new FaultInjector(registry().address(), registry().tokenRealm())) {
      faults.add(
          Rule.of(
              "PUT",
              "/manifests/" + leafNarTag + "$",
              Fault.status(429, "Retry-After", "3600"),
              -1));
      PushReport report = push(faults, repo);
      assertOnlyFailed(report, "leaf", Set.of("mid", "top"));
      // Promptly: the hour is weighed against the retry budget and not waited (no clock needed).
      String leaf =
          report.outcomes().stream()
              .filter(o -> o.path().toString().equals(paths.get("leaf")))
              .findFirst()
              .orElseThrow()
              .detail();
      assertTrue(leaf.contains("for longer than the retry budget"), leaf);
      assertEquals(Set.of("big", "lone"), assertConsistent(repo));
      assertRecovers(faults, repo);
    }
  }

  @Test
  void aTokenServiceThatAlwaysFailsFailsEveryPathAndWritesNothing() throws Exception {
    String repo = fresh("tokens");
    try (FaultInjector faults = new FaultInjector(registry().address(), registry().tokenRealm())) {
      faults.add(Rule.of("GET", "^/token", Fault.status(500), -1));
      PushReport report = push(faults, repo);
      assertFalse(report.succeeded());
      assertTrue(faults.injected().size() >= 3, faults.injected().toString());
      for (PathOutcome o : report.outcomes()) {
        assertTrue(o.status().failed(), o.toString());
      }
      assertEquals(List.of(), registry().tags(repo));
      assertTrue(
          faults.requests().stream()
              .noneMatch(r -> r.startsWith("PUT ") && r.contains("/manifests/")),
          "a manifest was written without a token: " + faults.requests());
      assertRecovers(faults, repo);
    }
  }
}
