package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.testkit.GhcrLike;
import dev.oranc.testkit.Nix;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A push against the ghcr.io stand-in while its upload-start limit is spent: 429 storms with {@code
 * retry-after}. The stand-in's rate windows read a clock this test moves, a minute at a time and
 * only after it has seen a 429, so how many requests are refused does not depend on how fast the
 * machine is; the push itself waits the registry's real {@code Retry-After} (1 s).
 */
class RateLimitedPushTest {

  /** ghcr.io allows 2,000 a minute; here a closure of three paths needs several minutes. */
  private static final int UPLOAD_STARTS_PER_MINUTE = 4;

  static TestStore store;
  static Nix.KeyPair key;
  static Map<String, String> paths;
  static final AtomicLong clockMillis = new AtomicLong();
  static GhcrLike ghcr;

  @BeforeAll
  static void start() {
    store = new TestStore();
    key = Nix.generateKey("oranc-rate-limits-1");
    paths =
        store.build(
            List.of(
                new TestStore.Drv("leaf", "mkdir $out; echo leaf > $out/x"),
                new TestStore.Drv("mid", "mkdir $out; " + TestStore.REFER_TO_DEPS, List.of("leaf")),
                new TestStore.Drv(
                    "top", "mkdir $out; " + TestStore.REFER_TO_DEPS, List.of("mid"))));
    InstantSource clock = () -> Instant.ofEpochMilli(clockMillis.get());
    ghcr =
        GhcrLike.start(
            GhcrLike.Options.DEFAULT
                .withClock(clock)
                .withUrlLifetime(Duration.ofDays(1))
                .withRateLimits(UPLOAD_STARTS_PER_MINUTE, 44_000));
  }

  @AfterAll
  static void stop() {
    if (ghcr != null) {
      ghcr.close();
    }
    if (store != null) {
      store.close();
    }
  }

  /** The stand-in's clock at {@code second} of a minute no window has counted yet. */
  private static void freshMinuteAt(int second) {
    long next = (Math.floorDiv(clockMillis.get(), 60_000L) + 2) * 60_000L;
    clockMillis.set(next + second * 1000L);
  }

  private static long tooMany() {
    return ghcr.served().stream().filter(s -> s.status() == 429).count();
  }

  private static CompletableFuture<PushReport> pushAsync(String repo, RetryBudget budget) {
    PushOptions options =
        PushOptions.builder(ghcr.address(), repo).noSsl(true).maxRetry(budget).build();
    Map<String, String> env = new PushRunner(ghcr.registry(), key).environment();
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return PushRunner.push(options, env, List.of(paths.get("top")));
          } catch (Exception e) {
            throw new CompletionException(e);
          }
        });
  }

  @Test
  void aPushThroughA429StormSucceedsAndSaysHowLongItWasThrottled() throws Exception {
    freshMinuteAt(59); // each 429 asks for 1 s
    long before = tooMany();
    String repo = "limits/storm-" + UUID.randomUUID().toString().substring(0, 8);
    CompletableFuture<PushReport> push =
        pushAsync(repo, RetryBudget.parse("3", PushOptions.DEFAULT_RATE_LIMIT_WAIT));
    long seen = before;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (!push.isDone()) {
      assertTrue(System.nanoTime() < deadline, "the push did not finish through the storm");
      long now = tooMany();
      if (now > seen) {
        seen = now;
        clockMillis.addAndGet(60_000); // the next minute: its window opens
      }
      Thread.sleep(10);
    }
    PushReport report = push.get();
    long refused = tooMany() - before;
    assertTrue(refused > 0, "the storm happened: upload starts over the limit were refused");
    assertTrue(report.succeeded(), report.summary().toString());
    assertEquals(3, report.count(Status.PUSHED));
    assertEquals(refused, report.throttling().rateLimitAnswers());
    String line = report.summary().get(0);
    assertTrue(line.contains("throttled " + refused + " time"), line);
    assertTrue(line.contains("by the registry's rate limits"), line);
    List<String> keys = new CacheReader(ghcr.registry(), repo).keys();
    for (String name : List.of("leaf", "mid", "top")) {
      assertTrue(keys.contains(StorePath.parse(paths.get(name)).hashPart() + ".narinfo"), name);
    }
  }

  @Test
  void aPushWhoseBudgetIsShorterThanTheRegistrysRetryAfterFailsNamingTheFlag() throws Exception {
    freshMinuteAt(0); // once the window is spent, a 429 asks for 60 s
    String repo = "limits/budget-" + UUID.randomUUID().toString().substring(0, 8);
    PushReport report =
        pushAsync(repo, RetryBudget.parse("30s", Duration.ZERO)).get(2, TimeUnit.MINUTES);
    assertFalse(report.succeeded());
    assertFalse(report.failures().isEmpty());
    for (PathOutcome o : report.failures()) {
      assertFalse(o.detail().contains("\n"), o.detail());
    }
    String reasons = String.join("\n", report.summary());
    assertTrue(reasons.contains("--max-retry"), reasons);
    assertTrue(reasons.contains("30s"), reasons);
    assertTrue(report.throttling().any());
  }
}
