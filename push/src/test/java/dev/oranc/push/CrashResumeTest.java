package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push killed with SIGKILL half-way through a 50-path closure leaves a consistent cache (every
 * narinfo names a NAR and references that are there), and a second push completes it, uploading
 * only what was missing.
 */
class CrashResumeTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  static final int LAYERS = 5;
  static final int WIDTH = 10;
  static TestStore store;
  static Nix.KeyPair key;
  static Map<String, String> paths;

  /** Five layers of ten paths, each referring to two of the layer below: fifty paths. */
  @BeforeAll
  static void build() {
    store = new TestStore();
    key = Nix.generateKey("oranc-push-crash-1");
    List<TestStore.Drv> drvs = new ArrayList<>();
    for (int layer = 0; layer < LAYERS; layer++) {
      for (int i = 0; i < WIDTH; i++) {
        List<String> deps =
            layer == 0
                ? List.of()
                : List.of("p" + (layer - 1) + "x" + i, "p" + (layer - 1) + "x" + ((i + 1) % WIDTH));
        drvs.add(
            new TestStore.Drv(
                "p" + layer + "x" + i,
                "mkdir $out; head -c 300000 /dev/urandom > $out/data; " + TestStore.REFER_TO_DEPS,
                deps));
      }
    }
    paths = store.build(drvs);
  }

  @AfterAll
  static void delete() {
    store.close();
  }

  Registry registry() {
    return registries.get();
  }

  @Test
  void aKilledPushLeavesAConsistentCacheAndARerunCompletesIt(@TempDir Path tmp) throws Exception {
    String repo = "crash/cache";
    List<String> tops = new ArrayList<>();
    for (int i = 0; i < WIDTH; i++) {
      tops.add(paths.get("p" + (LAYERS - 1) + "x" + i));
    }
    Path stdin = Files.writeString(tmp.resolve("paths"), String.join("\n", tops) + "\n");
    CacheReader cache = new CacheReader(registry(), repo);
    int seenAtKill;
    Process push;
    try (FaultInjector slow = new FaultInjector(registry().address(), null)) {
      // Slow enough that the kill lands half-way (a fresh path waits on only 4 round trips, the
      // narinfos of a whole layer go up at once, and a look at the cache takes a while).
      slow.delay(150);
      ProcessBuilder pb =
          new ProcessBuilder(ForkedPush.command(List.of("-Xmx128m"), slow.address(), repo, 2))
              .redirectInput(stdin.toFile())
              .redirectErrorStream(true)
              .redirectOutput(tmp.resolve("push.log").toFile());
      pb.environment().put(Push.SIGNING_KEY_VARIABLE, key.secret());
      push = pb.start();
      try {
        seenAtKill = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (seenAtKill < 15) {
          assertTrue(push.isAlive(), "the push ended before it was killed:\n" + log(tmp));
          assertTrue(System.nanoTime() < deadline, "no progress:\n" + log(tmp));
          Thread.sleep(50);
          seenAtKill = assertConsistent(cache).size();
        }
      } finally {
        push.destroyForcibly(); // SIGKILL: no shutdown hooks, no clean-up
        push.waitFor(30, TimeUnit.SECONDS);
      }
    }
    assertEquals(137, push.exitValue(), "killed by SIGKILL");

    Set<String> narInfosLeft = settled(cache);
    assertTrue(
        narInfosLeft.size() >= 15 && narInfosLeft.size() < 50,
        "killed half-way: " + narInfosLeft.size() + " narinfos of 50");
    Set<String> keysLeft = Set.copyOf(cache.keys());
    Set<String> narPresent = new HashSet<>();
    for (String path : paths.values()) {
      String narKey =
          "nar/" + NixHash.parse(NixPathInfo.of(path).narHash()).bareNix32() + ".nar.zst";
      if (keysLeft.contains(narKey)) {
        narPresent.add(path);
      }
    }
    int narsMissing = 50 - narPresent.size();

    registry().resetCounters();
    PushReport rerun = new PushRunner(registry(), key).push(repo, tops);
    assertTrue(rerun.succeeded(), rerun.summary().toString());
    assertEquals(narInfosLeft.size(), rerun.count(Status.IN_REGISTRY));
    assertEquals(
        50 - narInfosLeft.size(), rerun.count(Status.PUSHED) + rerun.count(Status.NARINFO_ONLY));
    assertEquals(
        narsMissing, rerun.count(Status.PUSHED), "NARs compressed again: only the missing ones");
    // No NAR that was there is sent again; the missing ones at most once each (a blob that went
    // up just before the kill, untagged, is found by the upload's HEAD and not sent again).
    Set<String> uploaded = Uploads.blobDigests(registry().proxiedRequests());
    int narsUploaded = 0;
    for (String path : paths.values()) {
      String digest = Uploads.narDigest(cache.narInfo(path).orElseThrow());
      if (uploaded.contains(digest)) {
        assertTrue(
            !narPresent.contains(path), path + ": its NAR was there, and was uploaded again");
        narsUploaded++;
      }
    }
    assertTrue(
        narsUploaded <= narsMissing && narsUploaded >= narsMissing - 2,
        narsUploaded + " NARs uploaded, " + narsMissing + " were missing");
    assertEquals(
        (50 - narInfosLeft.size()) + narsMissing,
        registry().proxiedRequests("PUT", "/v2/" + repo + "/manifests/.*").size(),
        "one tag per missing narinfo and per missing NAR");
    assertEquals(50, assertConsistent(cache).size());
  }

  /**
   * The narinfos once the cache stops changing: a manifest PUT the proxy had passed on just before
   * the kill can still land a moment after it (seen under load: two more narinfos than counted).
   */
  private static Set<String> settled(CacheReader cache) throws InterruptedException {
    Set<String> before = assertConsistent(cache);
    for (int i = 0; i < 30; i++) {
      Thread.sleep(300);
      Set<String> now = assertConsistent(cache);
      if (now.equals(before)) {
        return now;
      }
      before = now;
    }
    return before;
  }

  /**
   * Every narinfo in the repository names a NAR and references that are there too, in one tag
   * listing. Returns the store paths that have a narinfo.
   */
  static Set<String> assertConsistent(CacheReader cache) {
    Set<String> keys = new HashSet<>(cache.keys());
    Set<String> withNarInfo = new HashSet<>();
    for (String key : keys) {
      if (!key.endsWith(".narinfo")) {
        continue;
      }
      var file = cache.file(key);
      if (file.isEmpty()) {
        continue; // listed while its tag was being written: not there yet for a reader either
      }
      NarInfo info = NarInfo.parse(file.get().bytes());
      assertTrue(keys.contains(info.url()), key + " names " + info.url() + ", which is not there");
      for (StorePath ref : info.references()) {
        assertTrue(
            keys.contains(ref.hashPart() + ".narinfo"),
            key + " refers to " + ref + ", which is not there");
      }
      withNarInfo.add(info.storePath().toString());
    }
    return withNarInfo;
  }

  static String log(Path tmp) {
    try {
      return Files.readString(tmp.resolve("push.log"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return e.toString();
    }
  }

  static String tag(String key) {
    return TagCodec.DEFAULT.writeTag(key).value();
  }
}
