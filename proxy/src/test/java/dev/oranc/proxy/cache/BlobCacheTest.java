package dev.oranc.proxy.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.Digest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class BlobCacheTest {

  @Test
  void holdsOnlySmallBlobsAndServesThemByDigest() throws Exception {
    BlobCache cache = new BlobCache(1 << 20, 65536, Duration.ofHours(1), Ticker.systemTicker());
    assertTrue(cache.holds(0));
    assertTrue(cache.holds(65536));
    assertFalse(cache.holds(65537));
    Digest d = Digest.sha256(new byte[] {1});
    byte[] bytes = {1};
    assertFalse(cache.get(d, () -> CompletableFuture.completedFuture(bytes)).get().hit());
    BlobCache.Lookup again = cache.get(d, () -> CompletableFuture.failedFuture(new AssertionError("loaded twice"))).get();
    assertTrue(again.hit());
    assertArrayEquals(bytes, again.bytes());
    assertTrue(cache.weight() > 0);
  }

  @Test
  void aZeroSizedCacheHoldsNothing() {
    assertFalse(new BlobCache(0, 65536, Duration.ofHours(1), Ticker.systemTicker()).holds(10));
  }
}
