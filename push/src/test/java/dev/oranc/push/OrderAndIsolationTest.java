package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.closure.Closure;
import dev.oranc.push.db.NixDatabase;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.nar.StoreNarSource;
import dev.oranc.push.narinfo.NarInfoMaker;
import dev.oranc.push.pipeline.Pipeline;
import dev.oranc.push.pipeline.PipelineSettings;
import dev.oranc.push.progress.Progress;
import dev.oranc.push.upload.NarCompressor;
import dev.oranc.push.upload.NarSink;
import dev.oranc.push.upload.Probe;
import dev.oranc.push.upload.RegistryTarget;
import dev.oranc.push.upload.Target;
import dev.oranc.push.upload.UploadFailedException;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The consistency guarantee (a narinfo goes up only after its NAR and its references' narinfos) and
 * failure isolation (a path the registry refuses fails with its dependents; the rest goes up).
 */
class OrderAndIsolationTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  static TestStore store;
  static Nix.KeyPair key;
  static Map<String, String> paths;

  /**
   * Big leaves and small tops, so that if order were left to chance, a top's NAR would be done long
   * before its references' and its narinfo would go first.
   */
  @BeforeAll
  static void build() {
    store = new TestStore();
    key = Nix.generateKey("oranc-push-order-1");
    String big = "mkdir $out; head -c 3000000 /dev/urandom > $out/data; " + TestStore.REFER_TO_DEPS;
    String small = "mkdir $out; " + TestStore.REFER_TO_DEPS;
    paths =
        store.build(
            List.of(
                new TestStore.Drv("leaf1", big),
                new TestStore.Drv("leaf2", big),
                new TestStore.Drv("leaf3", big),
                new TestStore.Drv("leaf4", small),
                new TestStore.Drv("mid1", small, List.of("leaf1", "leaf2")),
                new TestStore.Drv("mid2", big, List.of("leaf3", "mid1")),
                new TestStore.Drv("mid3", small, List.of("leaf4")),
                new TestStore.Drv("top", small, List.of("mid1", "mid2", "mid3", "leaf1")),
                // Not empty like leaf4: paths with the same contents share one NAR upload, and
                // then one of them is NARINFO_ONLY, not PUSHED.
                new TestStore.Drv("lone", "mkdir $out; echo lone > $out/x")));
  }

  @AfterAll
  static void delete() {
    store.close();
  }

  Registry registry() {
    return registries.get();
  }

  /** The closure of the named test paths, from the Nix database. */
  static Closure closureOf(String... names) throws Exception {
    List<StorePath> roots = new ArrayList<>();
    for (String name : names) {
      roots.add(StorePath.parse(paths.get(name)));
    }
    try (NixDatabase db = NixDatabase.open(NixDatabase.DEFAULT_FILE, "/nix/store", false)) {
      return Closure.of(roots, db::query, true);
    }
  }

  /** Event order, as seen by the pipeline's target. */
  static final class RecordingTarget implements Target {
    final Target inner;
    final AtomicLong clock = new AtomicLong();
    final Map<StorePath, Long> narPublished = new ConcurrentHashMap<>();
    final Map<StorePath, Long> narInfoStarted = new ConcurrentHashMap<>();
    final Map<StorePath, Long> narInfoDone = new ConcurrentHashMap<>();
    final Set<StorePath> slow;

    /** {@code slow} paths' NARs take a while to be tagged: their dependents get ahead of them. */
    RecordingTarget(Target inner, Set<StorePath> slow) {
      this.inner = inner;
      this.slow = slow;
    }

    @Override
    public CompletableFuture<Probe> probe(PathInfo info) {
      return inner.probe(info);
    }

    @Override
    public NarSink openNar() {
      return inner.openNar();
    }

    @Override
    public CompletableFuture<Void> publishNar(PathInfo info, Descriptor blob) {
      CompletableFuture<Void> start =
          slow.contains(info.path())
              ? CompletableFuture.runAsync(
                  () -> {}, CompletableFuture.delayedExecutor(700, TimeUnit.MILLISECONDS))
              : CompletableFuture.completedFuture(null);
      return start
          .thenCompose(v -> inner.publishNar(info, blob))
          .thenRun(() -> narPublished.put(info.path(), clock.incrementAndGet()));
    }

    @Override
    public CompletableFuture<Void> publishNarInfo(PathInfo info, NarInfo narInfo) {
      narInfoStarted.put(info.path(), clock.incrementAndGet());
      return inner
          .publishNarInfo(info, narInfo)
          .thenRun(() -> narInfoDone.put(info.path(), clock.incrementAndGet()));
    }
  }

  @Test
  void aNarInfoGoesUpOnlyAfterItsNarAndItsReferencesNarInfos() throws Exception {
    NarInfoMaker maker = new NarInfoMaker(SecretKey.parse(key.secret()));
    Closure closure = closureOf("top", "lone");
    assertEquals(9, closure.size());
    List<StorePath> order = new ArrayList<>(closure.paths().keySet());
    for (PathInfo info : closure.paths().values()) {
      for (StorePath ref : info.references()) {
        assertTrue(
            ref.equals(info.path()) || order.indexOf(ref) < order.indexOf(info.path()),
            "the closure lists references first");
      }
    }
    List<PathOutcome> outcomes;
    RecordingTarget target;
    try (RegistryClient client =
        new RegistryClient(RegistryClientConfig.builder().tls(false).build())) {
      target =
          new RecordingTarget(
              new RegistryTarget(
                  new OciBinaryCache(client, TagCodec.DEFAULT),
                  RepositoryRef.of(registry().address(), "order/cache"),
                  Credentials.anonymous(),
                  maker,
                  "/nix/store",
                  false),
              Set.of(StorePath.parse(paths.get("leaf1")), StorePath.parse(paths.get("leaf3"))));
      outcomes =
          new Pipeline(
                  target,
                  new NarCompressor(new StoreNarSource(), 3, 1, Long.MAX_VALUE),
                  maker,
                  new Progress(),
                  new PipelineSettings(4, 2, 8, 16, 8, 1, Duration.ofMillis(10)))
              .run(closure);
    }
    assertEquals(
        9, outcomes.stream().filter(o -> o.status() == Status.PUSHED).count(), outcomes.toString());
    for (PathInfo info : closure.paths().values()) {
      long started = target.narInfoStarted.get(info.path());
      assertTrue(target.narPublished.get(info.path()) < started, info.path() + ": NAR first");
      for (StorePath ref : info.references()) {
        if (!ref.equals(info.path())) {
          assertTrue(
              target.narInfoDone.get(ref) < started, info.path() + " after its reference " + ref);
        }
      }
    }
    // The order was at risk: the top's NAR was there before a reference's.
    assertTrue(
        target.narPublished.get(StorePath.parse(paths.get("top")))
            < target.narPublished.get(StorePath.parse(paths.get("leaf1"))),
        "the top's NAR was tagged before leaf1's");
  }

  @Test
  void aPathTheRegistryRefusesFailsWithWhatRefersToItAndTheRestIsPushed() throws Exception {
    String repo = "isolation/cache";
    StorePath victim = StorePath.parse(paths.get("mid1"));
    String victimNarTag =
        TagCodec.DEFAULT
            .writeTag(
                NarInfoMaker.narKey(NixHash.parse(NixPathInfo.of(victim.toString()).narHash())))
            .value();
    try (FaultInjector proxy = new FaultInjector(registry().address(), null)) {
      proxy.add(
          FaultInjector.Rule.of(
              "PUT",
              "/manifests/" + Pattern.quote(victimNarTag) + "$",
              FaultInjector.Fault.status(500),
              -1));
      PushRunner runner = new PushRunner(registry(), key);
      PushOptions options =
          PushOptions.builder(proxy.address(), repo).noSsl(true).maxRetry(2).build();
      PushReport report =
          PushRunner.push(
              options, runner.environment(), List.of(paths.get("top"), paths.get("lone")));

      assertFalse(report.succeeded());
      assertEquals(
          2, proxy.injectedCount(), "the client tried --max-retry times: " + proxy.injected());
      Map<String, PathOutcome> byPath = new HashMap<>();
      report.outcomes().forEach(o -> byPath.put(o.path().toString(), o));
      assertEquals(Status.FAILED, byPath.get(paths.get("mid1")).status());
      assertTrue(
          byPath.get(paths.get("mid1")).detail().contains("PUT manifest"),
          byPath.get(paths.get("mid1")).detail());
      for (String dependent : List.of("mid2", "top")) {
        assertEquals(
            Status.DEPENDENCY_FAILED, byPath.get(paths.get(dependent)).status(), dependent);
      }
      for (String fine : List.of("leaf1", "leaf2", "leaf3", "leaf4", "mid3", "lone")) {
        assertEquals(Status.PUSHED, byPath.get(paths.get(fine)).status(), fine);
      }
      assertEquals(3, report.failures().size());

      CacheReader cache = new CacheReader(registry(), repo);
      Set<String> keys = Set.copyOf(cache.keys());
      for (String name : List.of("mid1", "mid2", "top")) {
        assertFalse(keys.contains(StorePath.parse(paths.get(name)).hashPart() + ".narinfo"), name);
      }
      for (String name : List.of("leaf1", "leaf2", "leaf3", "leaf4", "mid3", "lone")) {
        assertTrue(keys.contains(StorePath.parse(paths.get(name)).hashPart() + ".narinfo"), name);
      }

      // The registry recovers: a second push completes, and uploads only what is missing.
      proxy.clear();
      registry().resetCounters();
      PushReport again =
          PushRunner.push(
              options, runner.environment(), List.of(paths.get("top"), paths.get("lone")));
      assertTrue(again.succeeded(), again.summary().toString());
      assertEquals(6, again.count(Status.IN_REGISTRY));
      // The victim's NAR was never tagged; its dependents' NARs may have gone up in the first run
      // (they are not held back, only their narinfos are), and are then reused.
      Map<String, Status> second = new HashMap<>();
      again.outcomes().forEach(o -> second.put(o.path().toString(), o.status()));
      assertEquals(Status.PUSHED, second.get(paths.get("mid1")));
      for (String dependent : List.of("mid2", "top")) {
        assertTrue(
            Set.of(Status.PUSHED, Status.NARINFO_ONLY).contains(second.get(paths.get(dependent))),
            dependent);
      }
    }
  }

  /**
   * The upload breaks off after the last byte was compressed, when the body is ended: the NarSink's
   * finish() throws (as BlobOutputStream's does when the PATCH in flight was reset meanwhile).
   * Every try of every NAR fails so, retried once; the push must still end, with the paths that
   * have a NAR failed and the rest not pushed. (Before the fix the slot counts went wrong and the
   * push waited for ever; seen once under load in a full run.)
   */
  @Test
  void anUploadThatBreaksOffWhenItsBodyEndsFailsAndThePushStillEnds() throws Exception {
    NarInfoMaker maker = new NarInfoMaker(SecretKey.parse(key.secret()));
    Closure closure = closureOf("mid3");
    AtomicInteger finishes = new AtomicInteger();
    try (RegistryClient client =
        new RegistryClient(RegistryClientConfig.builder().tls(false).build())) {
      Target real =
          new RegistryTarget(
              new OciBinaryCache(client, TagCodec.DEFAULT),
              RepositoryRef.of(registry().address(), "isolation/finish"),
              Credentials.anonymous(),
              maker,
              "/nix/store",
              false);
      Target breaking =
          new Target() {
            @Override
            public CompletableFuture<Probe> probe(PathInfo info) {
              return real.probe(info);
            }

            @Override
            public CompletableFuture<Void> publishNar(PathInfo info, Descriptor blob) {
              return real.publishNar(info, blob);
            }

            @Override
            public CompletableFuture<Void> publishNarInfo(PathInfo info, NarInfo narInfo) {
              return real.publishNarInfo(info, narInfo);
            }

            @Override
            public NarSink openNar() {
              NarSink inner = real.openNar();
              return new NarSink() {
                @Override
                public OutputStream stream() {
                  return inner.stream();
                }

                @Override
                public CompletableFuture<Descriptor> finish() throws IOException {
                  finishes.incrementAndGet();
                  inner.abort(new IOException("test: the PATCH was reset"));
                  throw new UploadFailedException(
                      new RegistryException.Unavailable(
                          "PATCH isolation/finish upload bytes 0-",
                          "connection reset by the test",
                          RegistryException.Unavailable.Reason.UNREACHABLE,
                          0,
                          null));
                }

                @Override
                public void abort(Throwable cause) {
                  inner.abort(cause);
                }

                @Override
                public void close() {
                  inner.close();
                }
              };
            }
          };
      List<PathOutcome> outcomes =
          assertTimeoutPreemptively(
              Duration.ofSeconds(60),
              () ->
                  new Pipeline(
                          breaking,
                          new NarCompressor(new StoreNarSource(), 3, 1, Long.MAX_VALUE),
                          maker,
                          new Progress(),
                          new PipelineSettings(2, 1, 8, 16, 8, 2, Duration.ofMillis(10)))
                      .run(closure));
      Map<StorePath, Status> status = new HashMap<>();
      outcomes.forEach(o -> status.put(o.path(), o.status()));
      assertEquals(
          Status.FAILED, status.get(StorePath.parse(paths.get("leaf4"))), outcomes.toString());
      // mid3's own NAR may fail first (both NARs go up at once), or leaf4's failure reaches it
      // first.
      assertTrue(
          Set.of(Status.FAILED, Status.DEPENDENCY_FAILED)
              .contains(status.get(StorePath.parse(paths.get("mid3")))),
          outcomes.toString());
      assertEquals(2, outcomes.size(), outcomes.toString());
      assertTrue(finishes.get() >= 2, "leaf4's NAR was tried twice: " + finishes.get());
    }
  }

  /**
   * {@code -p} paths stream at once while only {@code cpuThreads} compute: with one CPU turn and
   * two paths, a path whose upload waits for the link gives its turn to the other. Each path's
   * sink, on its first write, "waits for the link" until the other path has written too: that can
   * only happen if the waiting path gave its turn away (else the wait runs out, bounded).
   */
  @Test
  void aPathWaitingForTheLinkGivesItsCpuTurnToAnother() throws Exception {
    NarInfoMaker maker = new NarInfoMaker(SecretKey.parse(key.secret()));
    Closure closure = closureOf("mid3");
    CountDownLatch bothWriting = new CountDownLatch(2);
    List<Boolean> overlapped = Collections.synchronizedList(new ArrayList<>());
    try (RegistryClient client =
        new RegistryClient(RegistryClientConfig.builder().tls(false).build())) {
      Target real =
          new RegistryTarget(
              new OciBinaryCache(client, TagCodec.DEFAULT),
              RepositoryRef.of(registry().address(), "isolation/turns"),
              Credentials.anonymous(),
              maker,
              "/nix/store",
              false);
      Target slowLink =
          new Target() {
            @Override
            public CompletableFuture<Probe> probe(PathInfo info) {
              return real.probe(info);
            }

            @Override
            public CompletableFuture<Void> publishNar(PathInfo info, Descriptor blob) {
              return real.publishNar(info, blob);
            }

            @Override
            public CompletableFuture<Void> publishNarInfo(PathInfo info, NarInfo narInfo) {
              return real.publishNarInfo(info, narInfo);
            }

            @Override
            public NarSink openNar() {
              NarSink inner = real.openNar();
              return new NarSink() {
                Runnable before = () -> {};
                Runnable after = () -> {};
                boolean waited;
                final OutputStream stream =
                    new FilterOutputStream(inner.stream()) {
                      @Override
                      public void write(byte[] b, int off, int len) throws IOException {
                        if (!waited) {
                          waited = true;
                          before.run();
                          try {
                            bothWriting.countDown();
                            overlapped.add(bothWriting.await(30, TimeUnit.SECONDS));
                          } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new InterruptedIOException();
                          } finally {
                            after.run();
                          }
                        }
                        out.write(b, off, len);
                      }
                    };

                @Override
                public OutputStream stream() {
                  return stream;
                }

                @Override
                public void whileBlocked(Runnable before, Runnable after) {
                  this.before = before;
                  this.after = after;
                }

                @Override
                public CompletableFuture<Descriptor> finish() throws IOException {
                  return inner.finish();
                }

                @Override
                public void abort(Throwable cause) {
                  inner.abort(cause);
                }

                @Override
                public void close() {
                  inner.close();
                }
              };
            }
          };
      List<PathOutcome> outcomes =
          new Pipeline(
                  slowLink,
                  new NarCompressor(new StoreNarSource(), 3, 1, Long.MAX_VALUE),
                  maker,
                  new Progress(),
                  new PipelineSettings(2, 1, 8, 16, 8, 1, Duration.ofMillis(10)))
              .run(closure);
      assertEquals(
          2,
          outcomes.stream().filter(o -> o.status() == Status.PUSHED).count(),
          outcomes.toString());
      assertEquals(
          List.of(true, true), overlapped, "both paths were writing at once, on one CPU turn");
    }
  }
}
