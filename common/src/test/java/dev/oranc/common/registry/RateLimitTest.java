package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.common.registry.throttle.Throttling;
import dev.oranc.testkit.FakeRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * Rate limits through the whole client: a 429 storm is waited out whatever {@code --max-retry}'s
 * count, and only the time budget ends it. The client's clock runs ahead of real time by what the
 * fake registry adds as it answers, so a budget of minutes passes without waiting.
 */
class RateLimitTest {

  private static final String TOO_MANY =
      "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"retry-after: 10ms, allowed:"
          + " 2000/minute\"}]}";

  /** Real time plus what the fake registry adds: pauses end, and budgets pass in jumps. */
  private final AtomicLong nanos = new AtomicLong();

  private final Ticker ticker = () -> System.nanoTime() + nanos.get();
  private FakeRegistry fake;
  private RegistryClient client;

  private RegistryClient client(int attempts, Duration budget) {
    RegistryClientConfig config =
        RegistryClientConfig.builder()
            .tls(false)
            .maxAttempts(attempts)
            .backoff(Duration.ofMillis(10), Duration.ofMillis(40))
            .maxRetryAfter(budget)
            .build();
    client = new RegistryClient(config, Transport.newGroup(1, "rate-limit-test"), true, ticker);
    return client;
  }

  private RepositoryRef repo() {
    return RepositoryRef.of(fake.address(), "owner/cache");
  }

  @AfterEach
  void close() {
    if (client != null) {
      client.close();
    }
    if (fake != null) {
      fake.close();
    }
  }

  private void manifest(FakeRegistry.Reply reply) {
    reply.send(
        200,
        Manifest.OCI_MANIFEST,
        RegistryClientFaultTest.MANIFEST_JSON.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aStormOfRateLimitsLongerThanTheAttemptsIsWaitedOut() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (n <= 20) {
                nanos.addAndGet(TimeUnit.SECONDS.toNanos(1));
                reply.send(429, TOO_MANY, "Retry-After", "0");
              } else {
                manifest(reply);
              }
            });
    Optional<Manifest> m =
        RegistryClientFaultTest.await(
            client(1, Duration.ofMinutes(1))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    assertTrue(m.isPresent());
    assertEquals(21, fake.requests().size());
    Throttling t = client.throttling();
    assertEquals(20, t.rateLimitAnswers());
    assertTrue(t.describe().startsWith("throttled 20 times"), t.describe());
  }

  @Test
  void rateLimitsWithoutRetryAfterBackOffAndGoOn() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (n <= 4) {
                reply.send(429, TOO_MANY);
              } else {
                manifest(reply);
              }
            });
    assertTrue(
        RegistryClientFaultTest.await(
                client(1, Duration.ofMinutes(5))
                    .getManifest(repo(), "t", Credentials.anonymous(), null))
            .isPresent());
    assertEquals(5, fake.requests().size());
    assertEquals(4, client.throttling().rateLimitAnswers());
  }

  @Test
  void a503WithRetryAfterIsARateLimitNotAFailedAttempt() throws Exception {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (n <= 3) {
                reply.send(503, "{}", "Retry-After", "0");
              } else {
                manifest(reply);
              }
            });
    assertTrue(
        RegistryClientFaultTest.await(
                client(1, Duration.ofMinutes(5))
                    .getManifest(repo(), "t", Credentials.anonymous(), null))
            .isPresent());
    assertEquals(4, fake.requests().size());
  }

  @Test
  void rateLimitsBeyondTheTimeBudgetFailNamingTheFlag() {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              nanos.addAndGet(TimeUnit.SECONDS.toNanos(40));
              reply.send(429, TOO_MANY, "Retry-After", "0");
            });
    Throwable t =
        RegistryClientFaultTest.failure(
            client(3, Duration.ofMinutes(1))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    RegistryException.RateLimited e = assertInstanceOf(RegistryException.RateLimited.class, t);
    // The first 429 starts the budget; the second is 40 s into it; the third, 80 s, is past it.
    assertEquals(3, fake.requests().size());
    assertTrue(e.publicMessage().contains("--max-retry"), e.publicMessage());
    assertTrue(e.publicMessage().contains("1m"), e.publicMessage());
  }

  @Test
  void aRetryAfterLongerThanWhatIsLeftOfTheBudgetFailsAtOnceAndIsPassedOn() {
    fake = new FakeRegistry((n, req, reply) -> reply.send(429, TOO_MANY, "Retry-After", "120"));
    Throwable t =
        RegistryClientFaultTest.failure(
            client(3, Duration.ofMinutes(1))
                .getManifest(repo(), "t", Credentials.anonymous(), null));
    RegistryException.RateLimited e = assertInstanceOf(RegistryException.RateLimited.class, t);
    assertEquals(120, e.retryAfterSeconds());
    assertEquals(1, fake.requests().size());
    assertEquals(1, client.throttling().rateLimitAnswers());
  }

  @Test
  void theBudgetAndTheCountAreOneFlag() {
    assertEquals(
        new RetryBudget(3, Duration.ofMinutes(5)), RetryBudget.parse("5m", Duration.ofSeconds(30)));
    assertEquals(
        new RetryBudget(7, Duration.ofSeconds(30)), RetryBudget.parse("7", Duration.ofSeconds(30)));
    assertEquals(
        new RetryBudget(3, Duration.ofMillis(1500)), RetryBudget.parse("1500ms", Duration.ZERO));
    assertEquals(Duration.ofHours(2), RetryBudget.parse("2h", Duration.ZERO).rateLimited());
    assertEquals("5m", RetryBudget.format(Duration.ofMinutes(5)));
    assertEquals("90s", RetryBudget.format(Duration.ofSeconds(90)));
    assertEquals("0s", RetryBudget.format(Duration.ZERO));
    for (String bad : new String[] {"", "0", "5 minutes", "-1", "25h", "101", "1d"}) {
      IllegalArgumentException e =
          Assertions.assertThrows(
              IllegalArgumentException.class,
              () -> RetryBudget.parse(bad, Duration.ofSeconds(30)),
              bad);
      assertTrue(e.getMessage().startsWith("--max-retry: "), e.getMessage());
      assertTrue(!e.getMessage().contains("\n"));
    }
  }
}
