package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.transport.Origin;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The reserve's bounds, on its own: per scope, scopes in all, age, use once. */
class UploadSessionReserveTest {

  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = nanos::get;
  private final UploadSessionReserve reserve =
      new UploadSessionReserve(2, Duration.ofSeconds(60), ticker);
  private final List<URI> cancelled = new ArrayList<>();
  private int opened;

  private CompletableFuture<URI> open() {
    opened++;
    return CompletableFuture.completedFuture(
        URI.create("http://127.0.0.1:5000/v2/r/blobs/uploads/" + opened));
  }

  private static UploadSessionReserve.Scope scope(String repository) {
    return new UploadSessionReserve.Scope(
        new Origin(false, "127.0.0.1", 5000), repository, "anonymous");
  }

  @Test
  void aScopeIsToppedUpToItsBoundAndEachSessionIsHandedOutOnce() {
    assertTrue(reserve.refill(scope("a"), this::open, cancelled::add).isEmpty());
    reserve.refill(scope("a"), this::open, cancelled::add);
    assertEquals(2, opened, "a second refill of a full scope opens nothing");
    CompletableFuture<URI> first = reserve.take(scope("a")).session();
    CompletableFuture<URI> second = reserve.take(scope("a")).session();
    assertEquals(URI.create("http://127.0.0.1:5000/v2/r/blobs/uploads/1"), first.join());
    assertEquals(URI.create("http://127.0.0.1:5000/v2/r/blobs/uploads/2"), second.join());
    assertNull(reserve.take(scope("a")).session());
    assertNull(reserve.take(scope("b")).session(), "another repository's sessions are not shared");
    reserve.refill(scope("a"), this::open, cancelled::add);
    assertEquals(4, opened);
  }

  @Test
  void aSessionOlderThanTheBoundIsHandedBackToBeDropped() {
    reserve.refill(scope("a"), this::open, cancelled::add);
    nanos.addAndGet(Duration.ofSeconds(60).toNanos());
    assertEquals(
        "http://127.0.0.1:5000/v2/r/blobs/uploads/1",
        reserve.take(scope("a")).session().join().toString(),
        "60 s is still young enough");
    nanos.addAndGet(1);
    UploadSessionReserve.Taken taken = reserve.take(scope("a"));
    assertNull(taken.session());
    assertEquals(1, taken.expired().size());
    taken.expired().forEach(UploadSessionReserve.Held::drop);
    assertEquals(List.of(URI.create("http://127.0.0.1:5000/v2/r/blobs/uploads/2")), cancelled);
    assertEquals(0, reserve.size());
  }

  @Test
  void aSessionThatFailedToOpenIsSkippedAndReplaced() {
    reserve.refill(
        scope("a"),
        () -> CompletableFuture.failedFuture(new IllegalStateException("refused")),
        cancelled::add);
    assertNull(reserve.take(scope("a")).session());
    reserve.refill(
        scope("a"),
        () -> CompletableFuture.failedFuture(new IllegalStateException("refused")),
        cancelled::add);
    reserve.refill(scope("a"), this::open, cancelled::add);
    assertEquals(2, opened, "failed ones do not count against the bound");
    assertEquals(2, reserve.size());
  }

  @Test
  void scopesAreBoundedAndTheLeastRecentlyUsedIsEvictedWithItsSessions() {
    int scopes = UploadSessionReserve.MAX_SCOPES + 10;
    List<UploadSessionReserve.Held> dropped = new ArrayList<>();
    reserve.refill(scope("kept"), this::open, cancelled::add);
    for (int i = 0; i < scopes; i++) {
      // "kept" is used again and again, so it is never the eldest.
      assertSame(null, reserve.take(scope("nothing-" + i)).session());
      reserve.refill(scope("kept"), this::open, cancelled::add);
      dropped.addAll(reserve.refill(scope("s" + i), this::open, cancelled::add));
    }
    assertEquals(UploadSessionReserve.MAX_SCOPES, reserve.scopes());
    assertEquals(2 * UploadSessionReserve.MAX_SCOPES, reserve.size());
    assertEquals(2 * (scopes + 1 - UploadSessionReserve.MAX_SCOPES), dropped.size());
    dropped.forEach(UploadSessionReserve.Held::drop);
    assertEquals(
        dropped.size(), cancelled.size(), "every evicted session is ended at the registry");
    assertTrue(reserve.take(scope("kept")).session() != null);
    assertNull(reserve.take(scope("s0")).session(), "the eldest went first");
  }
}
