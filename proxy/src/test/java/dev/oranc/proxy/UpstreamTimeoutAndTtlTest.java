package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * docs/SERVER.md on {@code --upstream-timeout} and {@code --upstream-cache-negative-ttl}: an
 * upstream that does not answer within the timeout is given up on (after the attempts), not cached,
 * and the registry answers; an upstream's "absent" is remembered for the negative TTL (on the
 * server's clock, moved here by hand), then asked again.
 */
class UpstreamTimeoutAndTtlTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private final AtomicLong now = new AtomicLong();
  private FakeRegistry upstream;
  private TestServer server;
  private String base;

  @BeforeEach
  void start() {
    // An upstream cache that never answers for "stall", and has nothing else.
    upstream =
        FakeRegistry.byTarget(
            (method, uri, reply) -> {
              if (uri.contains("stall")) {
                reply.stall();
              } else {
                reply.send(404, "text/plain", new byte[0]);
              }
            });
    server =
        TestServer.start(
            b ->
                b.upstreams(List.of(URI.create("http://" + upstream.address())))
                    .upstreamAnonymous(true)
                    .upstreamTimeout(Duration.ofMillis(300))
                    .upstreamCacheNegativeTtl(Duration.ofMinutes(1))
                    .ticker(now::get));
    base = "/" + registry.get().address() + "/test/upstream-ttl";
  }

  @AfterEach
  void stop() {
    server.close();
    upstream.close();
  }

  private long heads(String key) {
    return upstream.requestLines().stream().filter(l -> l.equals("HEAD /" + key)).count();
  }

  @Test
  void anUpstreamPastTheTimeoutIsGivenUpOnNotCachedAndTheRegistryAnswers() throws Exception {
    assertEquals(404, server.get(base + "/stall.narinfo", null).statusCode());
    assertEquals(2, heads("stall.narinfo"), "two attempts: " + upstream.requestLines());
    assertTrue(metrics().contains("oranc_upstream_checks_total{outcome=\"failed\"} 1"), metrics());
    // Not cached: the next request asks again.
    assertEquals(404, server.get(base + "/stall.narinfo", null).statusCode());
    assertEquals(4, heads("stall.narinfo"), upstream.requestLines().toString());
  }

  @Test
  void anAbsentKeyIsRememberedForTheNegativeTtlThenAskedAgain() throws Exception {
    assertEquals(404, server.get(base + "/absent.narinfo", null).statusCode());
    assertEquals(1, heads("absent.narinfo"));
    now.addAndGet(Duration.ofSeconds(59).toNanos());
    server.server.clearCaches();
    assertEquals(404, server.get(base + "/absent.narinfo", null).statusCode());
    assertEquals(1, heads("absent.narinfo"), "asked again within the negative TTL");
    now.addAndGet(Duration.ofSeconds(2).toNanos());
    assertEquals(404, server.get(base + "/absent.narinfo", null).statusCode());
    assertEquals(2, heads("absent.narinfo"), "not asked again after the negative TTL");
  }

  private String metrics() throws Exception {
    return TestServer.text(server.get("/-/metrics", null));
  }
}
