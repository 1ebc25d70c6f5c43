package dev.oranc.common.registry.throttle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The window and the pauses, on a clock moved by hand: nothing here sleeps. */
class AimdLimiterTest {

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  /** A clock and a scheduler that run tasks only when the test moves time. */
  static final class ManualTime implements Ticker {
    long now = 1_000 * SECOND;
    final List<long[]> dueAt = new ArrayList<>();
    final List<Runnable> tasks = new ArrayList<>();

    @Override
    public long read() {
      return now;
    }

    void schedule(long delay, Runnable task) {
      dueAt.add(new long[] {now + delay});
      tasks.add(task);
    }

    void advance(long nanos) {
      now += nanos;
      for (int i = 0; i < tasks.size(); i++) {
        if (dueAt.get(i)[0] <= now) {
          Runnable t = tasks.remove(i);
          dueAt.remove(i);
          i--;
          t.run();
        }
      }
    }
  }

  /** A request: records when it was let go. */
  static final class Req implements AimdLimiter.Waiter {
    final ManualTime time;
    long granted = -1;

    Req(ManualTime time) {
      this.time = time;
    }

    boolean started() {
      return granted >= 0;
    }

    @Override
    public void start(long grantedNanos) {
      granted = grantedNanos;
    }

    @Override
    public void wakeAfter(long delayNanos, Runnable task) {
      time.schedule(delayNanos, task);
    }
  }

  private final ManualTime time = new ManualTime();
  private final Throttling.Counter counter = new Throttling.Counter();

  private AimdLimiter limiter(int maxWaiting) {
    return new AimdLimiter(
        "http://127.0.0.1:1",
        time,
        counter,
        maxWaiting,
        Duration.ofMillis(200).toNanos(),
        Duration.ofSeconds(5).toNanos());
  }

  private List<Req> start(AimdLimiter l, int n) {
    List<Req> rs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Req r = new Req(time);
      l.acquire(r);
      rs.add(r);
    }
    return rs;
  }

  @Test
  void unthrottledRequestsStartAtOnceUpToTheCeiling() {
    AimdLimiter l = limiter(10);
    List<Req> rs = start(l, AimdLimiter.CEILING);
    assertTrue(rs.stream().allMatch(Req::started));
    assertFalse(l.throttled());
    Req over = new Req(time);
    assertEquals(AimdLimiter.Admission.QUEUED, l.acquire(over));
    l.onSuccess(rs.get(0).granted);
    assertTrue(over.started(), "a permit given back starts the next waiter");
    assertEquals(AimdLimiter.CEILING, l.limit());
  }

  @Test
  void aRateLimitHalvesWhatWasInFlightAndPausesForRetryAfter() {
    AimdLimiter l = limiter(100);
    List<Req> rs = start(l, 8);
    long wait = l.onRateLimited(rs.get(0).granted, 2 * SECOND);
    assertEquals(2 * SECOND, wait);
    assertEquals(4, l.limit(), "half of the 8 in flight, not of the ceiling");
    assertTrue(l.throttled());

    Req next = new Req(time);
    assertEquals(AimdLimiter.Admission.QUEUED, l.acquire(next));
    time.advance(SECOND);
    assertFalse(next.started(), "paused for the whole Retry-After");
    time.advance(SECOND);
    assertFalse(next.started(), "7 still in flight, above the window of 4");
    for (int i = 1; i <= 4; i++) {
      l.onSuccess(rs.get(i).granted);
    }
    assertTrue(next.started(), "room in the window once in flight fell below 4");

    Throttling t = counter.snapshot();
    assertEquals(1, t.rateLimitAnswers());
    assertEquals(Duration.ofSeconds(2), t.throttled());
    assertEquals("throttled 1 time, 2.0 s", t.describe());
  }

  @Test
  void aBurstOfRateLimitsToRequestsSentTogetherHalvesOnce() {
    AimdLimiter l = limiter(100);
    List<Req> rs = start(l, 16);
    for (int i = 0; i < 5; i++) {
      l.onRateLimited(rs.get(i).granted, SECOND);
    }
    assertEquals(8, l.limit());
    assertEquals(5, counter.snapshot().rateLimitAnswers());
    assertEquals(
        Duration.ofSeconds(1), counter.snapshot().throttled(), "overlapping pauses count once");
  }

  @Test
  void theWindowShrinksToOneAndNoFurtherThenGrowsByOnePerWindowOfSuccesses() {
    AimdLimiter l = limiter(100);
    Req r = start(l, 1).get(0);
    for (int i = 0; i < 3; i++) {
      l.onRateLimited(r.granted, 0);
      time.advance(1);
      r = new Req(time);
      assertEquals(AimdLimiter.Admission.STARTED, l.acquire(r));
    }
    assertEquals(1, l.limit());
    l.onSuccess(r.granted);
    assertEquals(2, l.limit(), "1 success fills a window of 1");
    List<Req> two = start(l, 2);
    l.onSuccess(two.get(0).granted);
    assertEquals(2, l.limit());
    l.onSuccess(two.get(1).granted);
    assertEquals(3, l.limit(), "2 successes fill a window of 2");
    assertTrue(l.throttled());
  }

  @Test
  void withoutRetryAfterTheBackoffIsJitteredAndGrowsWithConsecutiveRateLimits() {
    AimdLimiter l = limiter(100);
    long previousBase = 0;
    for (int n = 1; n <= 6; n++) {
      Req r = new Req(time);
      l.acquire(r);
      assertTrue(r.started());
      long wait = l.onRateLimited(r.granted, -1);
      long base =
          Math.min(Duration.ofSeconds(5).toNanos(), Duration.ofMillis(200).toNanos() << (n - 1));
      assertTrue(wait >= base / 2 && wait <= base, "attempt " + n + ": " + wait);
      assertTrue(base >= previousBase);
      previousBase = base;
      time.advance(wait);
    }
    Req ok = new Req(time);
    l.acquire(ok);
    l.onSuccess(ok.granted);
    Req again = new Req(time);
    l.acquire(again);
    long wait = l.onRateLimited(again.granted, -1);
    assertTrue(wait <= Duration.ofMillis(200).toNanos(), "a success resets the backoff: " + wait);
  }

  @Test
  void aRequestThatMayNotWaitAsLongAsThePauseIsNotQueued() {
    AimdLimiter l = limiter(10);
    Req r = start(l, 1).get(0);
    l.onRateLimited(r.granted, 60 * SECOND);
    assertEquals(AimdLimiter.Admission.PAUSED_TOO_LONG, l.acquire(new Req(time), 30 * SECOND));
    assertEquals(0, l.waiting());
    assertEquals(AimdLimiter.Admission.QUEUED, l.acquire(new Req(time), 60 * SECOND));
    time.advance(31 * SECOND);
    assertEquals(AimdLimiter.Admission.QUEUED, l.acquire(new Req(time), 30 * SECOND));
    assertEquals(29 * SECOND, l.pauseLeft());
  }

  @Test
  void aRetryAfterLongerThanTheRequestMayWaitHalvesButPausesNothing() {
    AimdLimiter l = limiter(10);
    List<Req> rs = start(l, 4);
    assertEquals(3600 * SECOND, l.onRateLimited(rs.get(0).granted, 3600 * SECOND, 30 * SECOND));
    assertEquals(2, l.limit());
    assertEquals(0, l.pauseLeft(), "one request told to come back in an hour stops no other");
    assertEquals(1, counter.snapshot().rateLimitAnswers());
    assertEquals(Duration.ZERO, counter.snapshot().throttled());
    l.onOther(rs.get(1).granted);
    l.onOther(rs.get(2).granted);
    assertEquals(AimdLimiter.Admission.STARTED, l.acquire(new Req(time)));
  }

  @Test
  void waitersBeyondTheBoundAreRefused() {
    AimdLimiter l = limiter(2);
    Req r = start(l, 1).get(0);
    l.onRateLimited(r.granted, SECOND);
    assertEquals(AimdLimiter.Admission.QUEUED, l.acquire(new Req(time)));
    assertEquals(AimdLimiter.Admission.QUEUED, l.acquire(new Req(time)));
    assertEquals(AimdLimiter.Admission.REFUSED, l.acquire(new Req(time)));
    assertEquals(2, l.waiting());
  }

  @Test
  void waitersStartInOrderWhenThePauseEnds() {
    AimdLimiter l = limiter(10);
    List<Req> rs = start(l, 4);
    l.onRateLimited(rs.get(0).granted, 3 * SECOND);
    assertEquals(2, l.limit());
    for (int i = 1; i < 4; i++) {
      l.onOther(rs.get(i).granted);
    }
    assertTrue(l.idle());
    List<Req> waiting = start(l, 3);
    assertTrue(waiting.stream().noneMatch(Req::started));
    time.advance(3 * SECOND);
    assertTrue(waiting.get(0).started());
    assertTrue(waiting.get(1).started());
    assertFalse(waiting.get(2).started(), "the window is 2");
    assertEquals(1, l.waiting());
    assertTrue(time.tasks.isEmpty(), "no stray wake-up");
    l.onSuccess(waiting.get(0).granted);
    assertTrue(waiting.get(2).started());
  }
}
