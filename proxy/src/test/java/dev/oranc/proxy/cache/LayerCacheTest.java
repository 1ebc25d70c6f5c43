package dev.oranc.proxy.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.Tag;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Expiry by an injected ticker (no sleeping), scoping by credentials, single flight, invalidation.
 */
class LayerCacheTest {

  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = nanos::get;
  private final LayerCache cache =
      new LayerCache(100, Duration.ofMinutes(5), Duration.ofSeconds(5), ticker);
  private final RepositoryRef repo = RepositoryRef.of("r.io", "a/b");
  private final Credentials alice = Credentials.basic("alice", "1");
  private final Credentials bob = Credentials.basic("bob", "2");
  private final AtomicInteger loads = new AtomicInteger();

  private final StoredFile file =
      new StoredFile(repo, Tag.of("k"), new Digest("c".repeat(64)), 3, "text/plain", null);

  private LayerCache.Lookup get(Credentials c, Optional<StoredFile> answer) throws Exception {
    return cache
        .get(
            repo,
            "k",
            c,
            () -> {
              loads.incrementAndGet();
              return CompletableFuture.completedFuture(answer);
            })
        .get();
  }

  private void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  @Test
  void aFoundLayerLivesTheTtl() throws Exception {
    assertFalse(get(alice, Optional.of(file)).hit());
    advance(Duration.ofMinutes(4));
    LayerCache.Lookup l = get(alice, Optional.of(file));
    assertTrue(l.hit());
    assertEquals(file, l.file().orElseThrow());
    advance(Duration.ofMinutes(2));
    assertFalse(get(alice, Optional.of(file)).hit());
    assertEquals(2, loads.get());
  }

  @Test
  void aMissLivesOnlyTheNegativeTtl() throws Exception {
    get(alice, Optional.empty());
    advance(Duration.ofSeconds(4));
    assertTrue(get(alice, Optional.empty()).hit());
    advance(Duration.ofSeconds(2));
    assertFalse(get(alice, Optional.empty()).hit());
  }

  @Test
  void aNarMissIsNotRememberedButAFoundNarIs() throws Exception {
    String nar = "nar/0sf0k15dhahzx3djd4qsp5k7kid8zw4y6za714c3m085x5gwcpmq.nar.zst";
    Function<Optional<StoredFile>, LayerCache.Lookup> lookup =
        answer ->
            cache
                .get(
                    repo,
                    nar,
                    alice,
                    () -> {
                      loads.incrementAndGet();
                      return CompletableFuture.completedFuture(answer);
                    })
                .join();
    assertFalse(lookup.apply(Optional.empty()).hit());
    LayerCache.Lookup uploadedMeanwhile = lookup.apply(Optional.of(file));
    assertFalse(uploadedMeanwhile.hit(), "a NAR's miss was remembered");
    assertEquals(file, uploadedMeanwhile.file().orElseThrow());
    assertTrue(lookup.apply(Optional.empty()).hit(), "a found NAR lives the TTL");
    assertEquals(2, loads.get());
  }

  @Test
  void aFailureIsNeverCached() throws Exception {
    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () ->
                cache
                    .get(
                        repo,
                        "k",
                        alice,
                        () -> {
                          loads.incrementAndGet();
                          return CompletableFuture.failedFuture(
                              new RegistryException.Unauthorized("op", "401"));
                        })
                    .get());
    assertTrue(e.getCause() instanceof RegistryException.Unauthorized, e.toString());
    assertFalse(get(alice, Optional.of(file)).hit());
    assertEquals(2, loads.get());
  }

  @Test
  void entriesAreScopedByCredentials() throws Exception {
    get(alice, Optional.of(file));
    assertFalse(get(bob, Optional.empty()).hit(), "bob was served alice's entry");
    assertFalse(get(Credentials.anonymous(), Optional.empty()).hit());
    assertTrue(get(alice, Optional.of(file)).file().isPresent());
    assertTrue(get(bob, Optional.of(file)).file().isEmpty());
    assertEquals(3, loads.get());
  }

  @Test
  void concurrentMissesShareOneLoad() throws Exception {
    CompletableFuture<Optional<StoredFile>> pending = new CompletableFuture<>();
    List<CompletableFuture<LayerCache.Lookup>> all = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      all.add(
          cache.get(
              repo,
              "k",
              alice,
              () -> {
                loads.incrementAndGet();
                return pending;
              }));
    }
    pending.complete(Optional.of(file));
    int hits = 0;
    for (CompletableFuture<LayerCache.Lookup> f : all) {
      hits += f.get().hit() ? 1 : 0;
    }
    assertEquals(1, loads.get());
    assertEquals(49, hits);
  }

  @Test
  void invalidationDropsTheKeyInEveryScopeAndInFlight() throws Exception {
    get(alice, Optional.empty());
    get(bob, Optional.empty());
    cache
        .get(
            RepositoryRef.of("r.io", "a/other"),
            "k",
            alice,
            () -> CompletableFuture.completedFuture(Optional.empty()))
        .get();
    CompletableFuture<Optional<StoredFile>> pending = new CompletableFuture<>();
    cache.get(repo, "k", Credentials.anonymous(), () -> pending);
    cache.invalidate(repo, "k");
    pending.complete(Optional.empty()); // a lookup from before the PUT: not kept
    assertFalse(get(alice, Optional.of(file)).hit());
    assertFalse(get(bob, Optional.of(file)).hit());
    assertFalse(get(Credentials.anonymous(), Optional.of(file)).hit());
    assertEquals(
        1,
        cache
                .get(
                    RepositoryRef.of("r.io", "a/other"),
                    "k",
                    alice,
                    () -> CompletableFuture.completedFuture(Optional.empty()))
                .get()
                .hit()
            ? 1
            : 0,
        "another repository's entry was dropped");
  }

  @Test
  void statsCountHitsAndMisses() throws Exception {
    get(alice, Optional.of(file));
    get(alice, Optional.of(file));
    assertEquals(1, cache.stats().hitCount());
    assertEquals(1, cache.stats().missCount());
  }
}
