package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.GhcrLike;
import dev.oranc.testkit.Registry;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code nix copy --to} through the server while the ghcr.io stand-in refuses upload starts ({@code
 * 429} with {@code retry-after}): the server slows down and answers every PUT, and answers {@code
 * 503} with {@code Retry-After} only when waiting would take a request past its budget. The
 * stand-in's rate window reads a clock this test moves, a minute at a time, only after it has seen
 * a 429.
 */
class RateLimitedServerTest {

  private static final int UPLOAD_STARTS_PER_MINUTE = 2;

  private final AtomicLong clockMillis = new AtomicLong(TimeUnit.DAYS.toMillis(20_000));
  private GhcrLike ghcr;
  private TestServer server;

  @BeforeEach
  void start() {
    ghcr =
        GhcrLike.start(
            GhcrLike.Options.DEFAULT
                .withClock(() -> Instant.ofEpochMilli(clockMillis.get()))
                .withUrlLifetime(Duration.ofDays(1))
                .withRateLimits(UPLOAD_STARTS_PER_MINUTE, 44_000));
  }

  @AfterEach
  void stop() {
    try {
      if (server != null) {
        server.close();
      }
    } finally {
      ghcr.close();
    }
  }

  private void server(Duration budget) {
    // No upload sessions opened ahead: their background POSTs meet the storm too, after the PUTs
    // are answered, and the count of 429s the registry sent would run ahead of the one compared.
    server =
        TestServer.start(b -> b.uploadSessionsAhead(0), registry -> registry.maxRetryAfter(budget));
  }

  private long tooMany() {
    return ghcr.served().stream().filter(s -> s.status() == 429).count();
  }

  private static String auth() {
    return TestServer.basic(Registry.USER, Registry.PASSWORD);
  }

  private CompletableFuture<HttpResponse<byte[]>> putAsync(String path, byte[] body) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return server.put(path, body, auth(), "Content-Type", "text/x-nix-narinfo");
          } catch (Exception e) {
            throw new CompletionException(e);
          }
        });
  }

  @Test
  void putsThroughA429StormAreAllAnswered() throws Exception {
    server(Duration.ofMinutes(2));
    clockMillis.set((clockMillis.get() / 60_000) * 60_000 + 59_000); // a 429 asks for 1 s
    String base =
        "/" + ghcr.address() + "/limits/server-" + UUID.randomUUID().toString().substring(0, 8);
    List<CompletableFuture<HttpResponse<byte[]>>> puts = new ArrayList<>();
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      byte[] body = ("StorePath: /nix/store/" + i + "\n").getBytes(StandardCharsets.UTF_8);
      bodies.add(body);
      puts.add(putAsync(base + "/f" + i + ".narinfo", body));
    }
    CompletableFuture<Void> all = CompletableFuture.allOf(puts.toArray(new CompletableFuture[0]));
    long seen = 0;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (!all.isDone()) {
      assertTrue(System.nanoTime() < deadline, "the PUTs were not answered through the storm");
      long now = tooMany();
      if (now > seen) {
        seen = now;
        clockMillis.addAndGet(60_000);
      }
      Thread.sleep(10);
    }
    long refused = tooMany();
    assertTrue(refused > 0, "the storm happened");
    String metrics = TestServer.text(server.get("/-/metrics", null));
    assertTrue(metrics.contains("\noranc_registry_rate_limited_total " + refused + "\n"), metrics);
    assertTrue(metrics.contains("\noranc_registry_throttled_seconds_total "), metrics);
    for (int i = 0; i < puts.size(); i++) {
      HttpResponse<byte[]> r = puts.get(i).get();
      assertEquals(200, r.statusCode(), TestServer.text(r));
      HttpResponse<byte[]> got = server.get(base + "/f" + i + ".narinfo", auth());
      assertEquals(200, got.statusCode());
      assertArrayEquals(bodies.get(i), got.body());
    }
  }

  @Test
  void aRateLimitLongerThanTheServersBudgetIs503WithRetryAfter() throws Exception {
    server(Duration.ofSeconds(10));
    clockMillis.set((clockMillis.get() / 60_000 + 2) * 60_000); // a 429 asks for 60 s
    String base =
        "/" + ghcr.address() + "/limits/budget-" + UUID.randomUUID().toString().substring(0, 8);
    HttpResponse<byte[]> last = null;
    for (int i = 0; i < 3 && (last == null || last.statusCode() == 200); i++) {
      last =
          server.put(
              base + "/f" + i + ".narinfo",
              ("x" + i).getBytes(StandardCharsets.UTF_8),
              auth(),
              "Content-Type",
              "text/x-nix-narinfo");
    }
    assertEquals(503, last.statusCode(), TestServer.text(last));
    long retryAfter = Long.parseLong(last.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retryAfter > 10 && retryAfter <= 60, "Retry-After " + retryAfter);
    String body = TestServer.text(last);
    assertEquals(1, body.strip().lines().count(), body);
    assertTrue(tooMany() > 0);
  }
}
