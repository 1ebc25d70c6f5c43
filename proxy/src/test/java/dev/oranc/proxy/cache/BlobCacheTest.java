package dev.oranc.proxy.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BlobCacheTest {

  private static final RepositoryRef ALICE =
      RepositoryRef.of("registry-a.test:5000", "alice/cache");

  @Test
  void holdsOnlySmallBlobsAndServesThemByRepositoryAndDigest() throws Exception {
    BlobCache cache = new BlobCache(1 << 20, 65536, Duration.ofHours(1), Ticker.systemTicker());
    assertTrue(cache.holds(0));
    assertTrue(cache.holds(65536));
    assertFalse(cache.holds(65537));
    Digest d = Digest.sha256(new byte[] {1});
    byte[] bytes = {1};
    assertFalse(cache.get(ALICE, d, () -> CompletableFuture.completedFuture(bytes)).get().hit());
    BlobCache.Lookup again =
        cache
            .get(ALICE, d, () -> CompletableFuture.failedFuture(new AssertionError("loaded twice")))
            .get();
    assertTrue(again.hit());
    assertArrayEquals(bytes, again.bytes());
    assertTrue(cache.weight() > 0);
  }

  /**
   * The same digest in another repository of the same registry, the same repository name in another
   * registry: each is a miss that loads from its own repository, never Alice's bytes.
   */
  @Test
  void bytesCachedForOneRepositoryAreNeverServedForAnother() throws Exception {
    BlobCache cache = new BlobCache(1 << 20, 65536, Duration.ofHours(1), Ticker.systemTicker());
    byte[] alices = "StorePath: /nix/store/alice-private\n".getBytes();
    Digest d = Digest.sha256(alices);
    cache.get(ALICE, d, () -> CompletableFuture.completedFuture(alices)).get();
    byte[] other = "what the other repository has".getBytes();
    for (RepositoryRef elsewhere :
        new RepositoryRef[] {
          RepositoryRef.of("registry-a.test:5000", "mallory/cache"),
          RepositoryRef.of("registry-b.test:5000", "alice/cache"),
          RepositoryRef.of("registry-a.test:5001", "alice/cache")
        }) {
      AtomicInteger loads = new AtomicInteger();
      BlobCache.Lookup l =
          cache
              .get(
                  elsewhere,
                  d,
                  () -> {
                    loads.incrementAndGet();
                    return CompletableFuture.completedFuture(other);
                  })
              .get();
      assertEquals(1, loads.get(), elsewhere + " loaded from its own repository");
      assertFalse(l.hit(), elsewhere + " is a miss");
      assertArrayEquals(other, l.bytes(), elsewhere + " got its own bytes");
    }
    // A failed load elsewhere (the blob is not there) is not kept and does not touch Alice's entry.
    CompletableFuture<BlobCache.Lookup> refused =
        cache.get(
            RepositoryRef.of("registry-c.test", "x/y"),
            d,
            () -> CompletableFuture.failedFuture(new IllegalStateException("404")));
    assertTrue(refused.isCompletedExceptionally());
    BlobCache.Lookup alice =
        cache
            .get(
                ALICE,
                d,
                () -> CompletableFuture.failedFuture(new AssertionError("Alice's entry was lost")))
            .get();
    assertTrue(alice.hit());
    assertArrayEquals(alices, alice.bytes());
  }

  @Test
  void aZeroSizedCacheHoldsNothing() {
    assertFalse(new BlobCache(0, 65536, Duration.ofHours(1), Ticker.systemTicker()).holds(10));
  }
}
