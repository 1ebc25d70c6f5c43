package dev.oranc.proxy.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.oci.RepositoryRef;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PendingPublishesTest {

  private static final RepositoryRef REPO = RepositoryRef.of("registry.test", "o/c");

  @Test
  void theTableIsBoundedAndFreedOnCompletionAndFailure() {
    PendingPublishes table = new PendingPublishes(2, Duration.ofMinutes(1), Ticker.systemTicker());
    CompletableFuture<Void> a = table.begin(REPO, "nar/a.nar");
    CompletableFuture<Void> b = table.begin(REPO, "nar/b.nar");
    assertNotNull(a);
    assertNotNull(b);
    assertNull(
        table.begin(REPO, "nar/c.nar"),
        "a third pending publish: the caller answers after publishing");
    assertEquals(2, table.size());
    assertSame(a, table.pending(REPO, "nar/a.nar"));

    table.end(REPO, "nar/a.nar", a, null);
    assertTrue(a.isDone() && !a.isCompletedExceptionally());
    assertNull(table.pending(REPO, "nar/a.nar"));
    assertTrue(table.publishedLately(REPO, "nar/a.nar"));
    table.end(REPO, "nar/b.nar", b, new IllegalStateException("manifest refused"));
    assertTrue(b.isCompletedExceptionally());
    assertEquals(0, table.size());
    assertEquals("manifest refused", table.failure(REPO, "nar/b.nar").orElseThrow());
    assertFalse(table.publishedLately(REPO, "nar/b.nar"));

    // Room again; a later success of the same key forgets the failure.
    CompletableFuture<Void> again = table.begin(REPO, "nar/b.nar");
    assertNotNull(again);
    table.end(REPO, "nar/b.nar", again, null);
    assertTrue(table.failure(REPO, "nar/b.nar").isEmpty());
  }

  @Test
  void whenIdleWaitsForEveryPublishPendingAndNeverFails() {
    PendingPublishes table = new PendingPublishes(4, Duration.ofMinutes(1), Ticker.systemTicker());
    assertTrue(table.whenIdle().isDone(), "nothing pending: a stopping server does not wait");
    CompletableFuture<Void> a = table.begin(REPO, "nar/a.nar");
    CompletableFuture<Void> b = table.begin(REPO, "nar/b.nar");
    CompletableFuture<Void> idle = table.whenIdle();
    assertFalse(idle.isDone());
    table.end(REPO, "nar/a.nar", a, null);
    assertFalse(idle.isDone(), "one publish still runs");
    table.end(REPO, "nar/b.nar", b, new IllegalStateException("manifest refused"));
    assertTrue(
        idle.isDone() && !idle.isCompletedExceptionally(), "a failed publish ends the wait too");
  }

  @Test
  void outcomesAreForgottenAfterTheirTime() {
    AtomicLong now = new AtomicLong();
    PendingPublishes table = new PendingPublishes(4, Duration.ofMinutes(10), now::get);
    CompletableFuture<Void> f = table.begin(REPO, "nar/x.nar");
    table.end(REPO, "nar/x.nar", f, new IllegalStateException("no"));
    assertTrue(table.failure(REPO, "nar/x.nar").isPresent());
    now.addAndGet(Duration.ofMinutes(11).toNanos());
    assertTrue(table.failure(REPO, "nar/x.nar").isEmpty());
  }

  @Test
  void zeroMeansEveryPutIsAnsweredAfterItsPublish() {
    PendingPublishes table = new PendingPublishes(0, Duration.ofMinutes(1), Ticker.systemTicker());
    assertNull(table.begin(REPO, "nar/a.nar"));
  }

  @Test
  void aSecondPutOfTheSameKeyReleasesWaitersOfTheFirst() {
    PendingPublishes table = new PendingPublishes(4, Duration.ofMinutes(1), Ticker.systemTicker());
    CompletableFuture<Void> first = table.begin(REPO, "nar/a.nar");
    CompletableFuture<Void> second = table.begin(REPO, "nar/a.nar");
    assertEquals(1, table.size());
    table.end(REPO, "nar/a.nar", first, null);
    assertSame(second, table.pending(REPO, "nar/a.nar"), "the earlier end leaves the later entry");
    table.end(REPO, "nar/a.nar", second, null);
    assertTrue(first.isDone());
    assertEquals(0, table.size());
  }
}
