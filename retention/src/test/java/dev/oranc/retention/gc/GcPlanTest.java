package dev.oranc.retention.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.oci.Digest;
import dev.oranc.retention.scan.CacheKey;
import dev.oranc.retention.scan.CacheScan;
import dev.oranc.retention.scan.KeyKind;
import dev.oranc.retention.scan.NarInfoFacts;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The live set and the delete order, from a hand-made scan: no registry needed. */
class GcPlanTest {

  static final Instant NOW = Instant.parse("2026-12-07T08:00:00Z");
  static final Instant OLD = NOW.minus(Duration.ofDays(40));

  /** Builds a scan: narinfos with references and NARs, and other keys. */
  static final class ScanBuilder {
    final List<CacheKey> keys = new ArrayList<>();
    final Map<String, NarInfoFacts> narinfos = new HashMap<>();
    final Set<String> pinned = new HashSet<>();
    int n;

    static String hash(char c) {
      return String.valueOf(c).repeat(32);
    }

    Digest next() {
      return new Digest(String.format("%064x", ++n));
    }

    /** Narinfo for hash(c) naming nar/&lt;nar&gt;.nar.zst, referencing hash(r) for each r. */
    ScanBuilder narinfo(char c, String nar, Instant created, char... refs) {
      String h = hash(c);
      List<String> r = new ArrayList<>();
      for (char x : refs) {
        r.add(hash(x));
      }
      keys.add(
          new CacheKey(h + ".narinfo", "t" + n, KeyKind.NARINFO, next(), next(), 300, created, h));
      narinfos.put(
          h + ".narinfo", new NarInfoFacts(h, "nar/" + nar + ".nar.zst", null, -1, r, null));
      return this;
    }

    ScanBuilder key(String key, Instant created, String subject) {
      keys.add(new CacheKey(key, "t" + n, KeyKind.of(key), next(), next(), 1000, created, subject));
      return this;
    }

    ScanBuilder nar(String nar, Instant created) {
      return key("nar/" + nar + ".nar.zst", created, null);
    }

    CacheScan build() {
      return new CacheScan(keys, narinfos, pinned, List.of(), Set.of(), 0);
    }
  }

  static GcOptions options(Duration keep, Duration grace, boolean deleteUndated) {
    return new GcOptions(keep, grace, deleteUndated, false, 4, 0);
  }

  static Set<String> doomed(GcPlan plan) {
    Set<String> out = new TreeSet<>();
    plan.doomed().forEach(k -> out.add(k.key()));
    return out;
  }

  /**
   * Deletes in the plan's order one at a time, checking after each that nothing kept points at a
   * gone key.
   */
  static List<String> runInOrder(GcPlan plan, CacheScan scan) {
    List<CacheKey> doomed = plan.doomed();
    int[] waiting = new int[doomed.size()];
    ArrayDeque<Integer> ready = new ArrayDeque<>();
    for (int i = 0; i < doomed.size(); i++) {
      waiting[i] = plan.blockers(i);
      if (waiting[i] == 0) {
        ready.add(i);
      }
    }
    Set<String> present = new HashSet<>();
    scan.keys().forEach(k -> present.add(k.key()));
    List<String> order = new ArrayList<>();
    while (!ready.isEmpty()) {
      int i = ready.poll();
      present.remove(doomed.get(i).key());
      order.add(doomed.get(i).key());
      assertConsistent(scan, present);
      for (int j : plan.unblocks(i)) {
        if (--waiting[j] == 0) {
          ready.add(j);
        }
      }
    }
    return order;
  }

  static void assertConsistent(CacheScan scan, Set<String> present) {
    for (Map.Entry<String, NarInfoFacts> e : scan.narinfos().entrySet()) {
      if (!present.contains(e.getKey())) {
        continue;
      }
      assertTrue(present.contains(e.getValue().narKey()), e.getKey() + " lost its NAR");
      for (String ref : e.getValue().references()) {
        assertTrue(present.contains(ref + ".narinfo"), e.getKey() + " lost its reference " + ref);
      }
    }
    for (CacheKey k : scan.keys()) {
      if (k.kind() == KeyKind.REALISATION && present.contains(k.key())) {
        assertTrue(present.contains(k.subject() + ".narinfo"), k.key() + " lost its narinfo");
      }
    }
  }

  @Test
  void aPinnedClosureStaysWithItsSharedDependencyAndTheRestGoesReferrersFirst() {
    // A -> D <- B -> E, C alone; F and G share one NAR, F is pinned.
    ScanBuilder b =
        new ScanBuilder()
            .narinfo('d', "d", OLD)
            .nar("d", OLD)
            .narinfo('e', "e", OLD)
            .nar("e", OLD)
            .narinfo('a', "a", OLD, 'd')
            .nar("a", OLD)
            .narinfo('b', "b", OLD, 'd', 'e')
            .nar("b", OLD)
            .narinfo('c', "c", OLD)
            .nar("c", OLD)
            .narinfo('f', "shared", OLD)
            .narinfo('g', "shared", OLD)
            .nar("shared", OLD)
            .nar("orphan", OLD)
            .key("nix-cache-info", OLD, null)
            .key("pins/prod", OLD, null)
            .key(ScanBuilder.hash('b') + ".ls", OLD, ScanBuilder.hash('b'))
            .key(ScanBuilder.hash('a') + ".ls", OLD, ScanBuilder.hash('a'))
            .key("realisations/sha256:" + "1".repeat(64) + "!out.doi", OLD, ScanBuilder.hash('e'))
            .key("log/" + "x".repeat(32) + "-old.drv", OLD, null)
            .key("log/" + "y".repeat(32) + "-new.drv", NOW.minus(Duration.ofDays(1)), null)
            .key("something/else", OLD, null);
    b.pinned.add(ScanBuilder.hash('a'));
    b.pinned.add(ScanBuilder.hash('f'));
    CacheScan scan = b.build();
    GcPlan plan = GcPlan.of(scan, NOW, options(Duration.ofDays(30), Duration.ofHours(1), false));

    String bh = ScanBuilder.hash('b'),
        ch = ScanBuilder.hash('c'),
        eh = ScanBuilder.hash('e'),
        gh = ScanBuilder.hash('g');
    assertEquals(
        new TreeSet<>(
            List.of(
                bh + ".narinfo",
                ch + ".narinfo",
                eh + ".narinfo",
                gh + ".narinfo",
                "nar/b.nar.zst",
                "nar/c.nar.zst",
                "nar/e.nar.zst",
                "nar/orphan.nar.zst",
                bh + ".ls",
                "realisations/sha256:" + "1".repeat(64) + "!out.doi",
                "log/" + "x".repeat(32) + "-old.drv")),
        doomed(plan));

    List<String> order = runInOrder(plan, scan);
    assertEquals(doomed(plan), new TreeSet<>(order), "every doomed key becomes deletable");
    assertTrue(order.indexOf(bh + ".narinfo") < order.indexOf(eh + ".narinfo"), order.toString());
    assertTrue(
        order.indexOf("realisations/sha256:" + "1".repeat(64) + "!out.doi")
            < order.indexOf(eh + ".narinfo"));
    assertTrue(order.indexOf(eh + ".narinfo") < order.indexOf("nar/e.nar.zst"), order.toString());
  }

  @Test
  void recentNarinfosKeepTheirClosureAndGraceProtectsEverythingFresh() {
    Instant fresh = NOW.minus(Duration.ofMinutes(10));
    ScanBuilder b =
        new ScanBuilder()
            .narinfo('d', "d", OLD)
            .nar("d", OLD)
            .narinfo('a', "a", NOW.minus(Duration.ofDays(2)), 'd')
            .nar("a", NOW.minus(Duration.ofDays(2)))
            .narinfo('c', "c", OLD)
            .nar("c", OLD)
            .nar("inflight", fresh); // a push uploads the NAR before its narinfo
    CacheScan scan = b.build();
    assertEquals(
        Set.of(ScanBuilder.hash('c') + ".narinfo", "nar/c.nar.zst"),
        doomed(GcPlan.of(scan, NOW, options(Duration.ofDays(3), Duration.ofHours(1), false))));
    assertEquals(
        Set.of(
            ScanBuilder.hash('c') + ".narinfo",
            "nar/c.nar.zst",
            ScanBuilder.hash('a') + ".narinfo",
            "nar/a.nar.zst",
            ScanBuilder.hash('d') + ".narinfo",
            "nar/d.nar.zst"),
        doomed(GcPlan.of(scan, NOW, options(Duration.ofDays(1), Duration.ofHours(1), false))));
    // Without grace the in-flight NAR goes too.
    assertTrue(
        doomed(GcPlan.of(scan, NOW, options(Duration.ZERO, Duration.ZERO, false)))
            .contains("nar/inflight.nar.zst"));
  }

  @Test
  void undatedKeysAreKeptWithTheirClosureUnlessUndatedDelete() {
    ScanBuilder b =
        new ScanBuilder()
            .narinfo('d', "d", OLD)
            .nar("d", null)
            .narinfo('a', "a", null, 'd')
            .nar("a", null)
            .narinfo('c', "c", OLD)
            .nar("c", OLD);
    CacheScan scan = b.build();
    assertEquals(
        Set.of(ScanBuilder.hash('c') + ".narinfo", "nar/c.nar.zst"),
        doomed(GcPlan.of(scan, NOW, options(Duration.ZERO, Duration.ZERO, false))));
    GcPlan all = GcPlan.of(scan, NOW, options(Duration.ZERO, Duration.ZERO, true));
    assertEquals(6, all.doomed().size());
    runInOrder(all, scan);
  }

  @Test
  void aProtectedRealisationKeepsThePathItNames() {
    ScanBuilder b =
        new ScanBuilder()
            .narinfo('a', "a", OLD)
            .nar("a", OLD)
            .key("realisations/sha256:" + "2".repeat(64) + "!out.doi", NOW, ScanBuilder.hash('a'));
    assertEquals(
        Set.of(),
        doomed(GcPlan.of(b.build(), NOW, options(Duration.ZERO, Duration.ofHours(1), false))));
  }
}
