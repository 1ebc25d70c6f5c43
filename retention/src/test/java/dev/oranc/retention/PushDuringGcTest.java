package dev.oranc.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.DigestedManifest;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.PathOutcome;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.Push;
import dev.oranc.push.PushOptions;
import dev.oranc.push.PushReport;
import dev.oranc.retention.check.CacheCheck;
import dev.oranc.retention.gc.Deleter;
import dev.oranc.retention.gc.GarbageCollector;
import dev.oranc.retention.gc.GcOptions;
import dev.oranc.retention.scan.CacheKey;
import dev.oranc.retention.scan.CacheScanner;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 17, "a push running concurrently with gc loses nothing": a push that finds an old path in
 * the cache refreshes it (puts its manifests again, written now) before publishing what refers to
 * it, so a gc that planned to delete the path (by its old manifests' digests) deletes nothing that
 * is still tagged. Real registry, real gc and check; "later" is a clock two days ahead shared by
 * the gc and the push, so what was pushed now is old to both.
 */
class PushDuringGcTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.TOKEN);

  static Nix nix;
  static Nix.KeyPair key;
  static final AtomicInteger repositories = new AtomicInteger();
  static final Instant LATER = Instant.now().plus(Duration.ofDays(2));

  @BeforeAll
  static void build() {
    nix = new Nix();
    key = Nix.generateKey("oranc-refresh-test-1");
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

  PushReport push(String repository, Clock clock, Duration refreshOlderThan, String... paths)
      throws Exception {
    byte[] stdin = (String.join("\n", paths) + "\n").getBytes(StandardCharsets.UTF_8);
    PushOptions options =
        PushOptions.builder(registry().address(), repository)
            .noSsl(true)
            .refreshOlderThan(refreshOlderThan)
            .build();
    PushReport report =
        new Push(options, environment())
            .clock(clock)
            .run(new ByteArrayInputStream(stdin), Path.of("").toAbsolutePath(), System.err, false);
    report.summary().forEach(System.err::println);
    assertTrue(report.succeeded(), report.summary().toString());
    return report;
  }

  CacheTarget target(String repository) {
    return TestCaches.target(registry().address(), repository);
  }

  List<String> check(String repository) throws InterruptedException {
    try (CacheTarget t = target(repository)) {
      return CacheCheck.problems(
          new CacheScanner(t, 4, List.of(PublicKey.parse(key.publicKey()))).scan());
    }
  }

  static String narInfoKey(Nix.StorePathInfo path) {
    return StorePath.parse(path.path()).hashPart() + ".narinfo";
  }

  static Optional<DigestedManifest> manifest(CacheTarget t, String key)
      throws InterruptedException {
    return CacheTarget.await(
        t.client()
            .getDigestedManifest(
                t.repository(), TagCodec.DEFAULT.writeTag(key).value(), t.credentials(), null));
  }

  /** The key of the NAR the narinfo {@code key} names (its URL). */
  static String narKey(CacheTarget t, String narInfoKey) throws InterruptedException {
    DigestedManifest m = manifest(t, narInfoKey).orElseThrow();
    byte[] bytes =
        CacheTarget.await(
            t.client()
                .getBlobBytes(
                    t.repository(),
                    m.manifest().layers().get(0).digest(),
                    (int) m.manifest().layers().get(0).size(),
                    t.credentials(),
                    null));
    String text = new String(bytes, StandardCharsets.UTF_8);
    return text.lines()
        .filter(l -> l.startsWith("URL: "))
        .findFirst()
        .orElseThrow()
        .substring(5)
        .trim();
  }

  /**
   * Runs gc (keep 1 day, grace 1 hour, at LATER); {@code meanwhile} runs before its first delete.
   */
  List<CacheKey> gcWith(String repository, Runnable meanwhile) throws Exception {
    List<CacheKey> deleted = Collections.synchronizedList(new ArrayList<>());
    try (CacheTarget t = target(repository)) {
      Deleter real = Deleter.of(t);
      Object once = new Object();
      boolean[] ran = {false};
      GcOptions options =
          new GcOptions(Duration.ofDays(1), Duration.ofHours(1), false, false, 1, 0);
      new GarbageCollector(t, options, Clock.fixed(LATER, ZoneOffset.UTC))
          .deleter(
              k -> {
                synchronized (once) {
                  if (!ran[0]) {
                    ran[0] = true;
                    meanwhile.run();
                  }
                }
                deleted.add(k);
                return real.delete(k);
              })
          .run()
          .lines()
          .forEach(System.err::println);
    }
    return deleted;
  }

  Status statusOf(PushReport report, Nix.StorePathInfo path) {
    return report.outcomes().stream()
        .filter(o -> o.path().toString().equals(path.path()))
        .map(PathOutcome::status)
        .findFirst()
        .orElseThrow();
  }

  /**
   * gc plans to delete the old path D (unpinned, no narinfo refers to it); before it deletes, a
   * push of T → D finds D present. With the refresh, D's manifests are put again (new date, new
   * digest) before T's narinfo: gc's deletes by the old digests leave D's tags, and check passes.
   * Without it (a threshold D is not older than), the same interleaving breaks the cache: the race
   * the refresh closes.
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aPushDuringGcRefreshesTheOldPathsItReuses(boolean refresh) throws Exception {
    String repo = "refresh/gc" + repositories.incrementAndGet();
    Nix.StorePathInfo d = nix.build("refresh-dep-" + refresh, "D, old");
    Nix.StorePathInfo top =
        nix.build("refresh-top-" + refresh, "T, refers to D", List.of(d.path()));
    push(repo, Clock.systemUTC(), PushOptions.DEFAULT_REFRESH_OLDER_THAN, d.path());
    String narKey;
    DigestedManifest oldNarInfo;
    DigestedManifest oldNar;
    try (CacheTarget t = target(repo)) {
      narKey = narKey(t, narInfoKey(d));
      oldNarInfo = manifest(t, narInfoKey(d)).orElseThrow();
      oldNar = manifest(t, narKey).orElseThrow();
    }

    AtomicReference<PushReport> during = new AtomicReference<>();
    List<CacheKey> deleted =
        gcWith(
            repo,
            () -> {
              try {
                during.set(
                    push(
                        repo,
                        Clock.fixed(LATER, ZoneOffset.UTC),
                        refresh ? PushOptions.DEFAULT_REFRESH_OLDER_THAN : Duration.ofDays(3650),
                        top.path()));
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    assertEquals(Status.IN_REGISTRY, statusOf(during.get(), d));
    assertEquals(Status.PUSHED, statusOf(during.get(), top));
    // gc planned D's two keys, by the digests it scanned: the old ones.
    assertEquals(
        List.of(oldNarInfo.digest(), oldNar.digest()),
        deleted.stream()
            .filter(k -> k.key().equals(narInfoKey(d)) || k.key().equals(narKey))
            .map(CacheKey::manifestDigest)
            .toList(),
        deleted.toString());

    try (CacheTarget t = target(repo)) {
      Optional<DigestedManifest> narInfo = manifest(t, narInfoKey(d));
      Optional<DigestedManifest> nar = manifest(t, narKey);
      if (refresh) {
        assertTrue(narInfo.isPresent() && nar.isPresent(), "D's tags are gone");
        for (DigestedManifest[] pair :
            List.of(
                new DigestedManifest[] {oldNarInfo, narInfo.get()},
                new DigestedManifest[] {oldNar, nar.get()})) {
          assertNotEquals(pair[0].digest(), pair[1].digest());
          assertEquals(
              Optional.of(LATER.truncatedTo(ChronoUnit.SECONDS)),
              ImageLayout.created(pair[1].manifest()));
          // Same blobs: only the date changed.
          assertEquals(pair[0].manifest().layers(), pair[1].manifest().layers());
          assertEquals(pair[0].manifest().config(), pair[1].manifest().config());
        }
        assertEquals(List.of(), check(repo));
      } else {
        assertFalse(narInfo.isPresent(), "without the refresh gc deletes D");
        assertFalse(check(repo).isEmpty(), "without the refresh T's narinfo names a deleted path");
      }
    }
  }

  /**
   * gc deletes D's manifests between the push's look-up of D and its refresh: D comes back. The
   * push reads its clock right after each look-up (to judge the age), so a clock that deletes on
   * its {@code deleteAt}-th reading is gc deleting exactly then: after the narinfo's look-up (1:
   * the NAR is gone when the push looks for it, so D is pushed again) or after the NAR's (2: both
   * manifests are put back from what the push read; the blobs are still there).
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aPathGcDeletesBetweenTheLookUpAndTheRefreshComesBack(int deleteAt) throws Exception {
    String repo = "refresh/between" + repositories.incrementAndGet();
    Nix.StorePathInfo d = nix.build("between-dep-" + deleteAt, "D, deleted under the push");
    Nix.StorePathInfo top =
        nix.build("between-top-" + deleteAt, "T, refers to D", List.of(d.path()));
    push(repo, Clock.systemUTC(), PushOptions.DEFAULT_REFRESH_OLDER_THAN, d.path());
    String narKey;
    DigestedManifest oldNarInfo;
    DigestedManifest oldNar;
    try (CacheTarget t = target(repo)) {
      narKey = narKey(t, narInfoKey(d));
      oldNarInfo = manifest(t, narInfoKey(d)).orElseThrow();
      oldNar = manifest(t, narKey).orElseThrow();
    }
    AtomicInteger readings = new AtomicInteger();
    Clock deleting =
        new Clock() {
          @Override
          public Instant instant() {
            if (readings.incrementAndGet() == deleteAt) {
              try (CacheTarget t = target(repo)) {
                // As gc deletes: the narinfo first, then its NAR, by digest.
                assertTrue(
                    CacheTarget.await(
                        t.client()
                            .deleteManifest(
                                t.repository(), oldNarInfo.digest(), t.credentials(), null)));
                assertTrue(
                    CacheTarget.await(
                        t.client()
                            .deleteManifest(
                                t.repository(), oldNar.digest(), t.credentials(), null)));
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            }
            return LATER;
          }

          @Override
          public ZoneId getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(ZoneId zone) {
            return this;
          }
        };

    PushReport report = push(repo, deleting, PushOptions.DEFAULT_REFRESH_OLDER_THAN, top.path());
    assertTrue(readings.get() >= deleteAt, "the push read its clock " + readings.get() + " times");
    assertEquals(deleteAt == 1 ? Status.PUSHED : Status.IN_REGISTRY, statusOf(report, d));
    assertEquals(Status.PUSHED, statusOf(report, top));
    try (CacheTarget t = target(repo)) {
      DigestedManifest narInfo =
          manifest(t, narInfoKey(d)).orElseThrow(() -> new AssertionError("D's narinfo is gone"));
      DigestedManifest nar =
          manifest(t, narKey).orElseThrow(() -> new AssertionError("D's NAR is gone"));
      // The NAR reads, whole.
      byte[] bytes =
          CacheTarget.await(
              t.client()
                  .getBlobBytes(
                      t.repository(),
                      nar.manifest().layers().get(0).digest(),
                      (int) nar.manifest().layers().get(0).size(),
                      t.credentials(),
                      null));
      assertEquals(nar.manifest().layers().get(0).size(), bytes.length);
      if (deleteAt == 2) {
        // Put back refreshed (dated LATER), not as it was. (Pushed again, deleteAt 1, it is
        // dated by the wall clock, possibly the same second as before: the same manifest.)
        assertNotEquals(oldNarInfo.digest(), narInfo.digest());
        assertEquals(
            Optional.of(LATER.truncatedTo(ChronoUnit.SECONDS)),
            ImageLayout.created(narInfo.manifest()));
      }
    }
    assertEquals(List.of(), check(repo));
  }
}
