package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import com.sun.net.httpserver.HttpServer;
import dev.oranc.common.net.AddressPolicy;
import dev.oranc.common.net.AddressPolicy.AddressClass;
import dev.oranc.common.net.HostPattern;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.LogCapture;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code --allow-registry} and the address policy, through the server against the real registry.
 * Made-up names resolve to 127.0.0.1 through the policy's test hook, so that even a broken check
 * could only ever reach loopback; the policy is told when to take 127.0.0.1 for public.
 */
class ServerAddressPolicyTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final InetAddress LOOPBACK = loopback();

  private TestServer server;

  private static InetAddress loopback() {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private LogCapture logged;

  @BeforeEach
  void captureWarnings() {
    logged =
        LogCapture.of("dev.oranc.proxy.OrancServer", "dev.oranc.common.registry.ConnectionPool");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    logged.close();
  }

  private List<String> warnings(String logger) {
    return logged.messages(logger, Level.WARN);
  }

  private static Registry registry() {
    return registries.get();
  }

  /** The port of the counting proxy in front of the registry: requests through it are counted. */
  private static int proxyPort() {
    String a = registry().proxyAddress();
    return Integer.parseInt(a.substring(a.lastIndexOf(':') + 1));
  }

  private static String repo() {
    return "test/p" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void aRegistryNotOnTheAllowListIs403ByPathAndByQuery() throws Exception {
    server =
        TestServer.start(
            b ->
                b.addressPolicy(
                    AddressPolicy.publicOnly(TestServer.LOOPBACK_REGISTRIES)
                        .withTestName("elsewhere.test", LOOPBACK)));
    registry().resetCounters();
    String elsewhere = "elsewhere.test:" + proxyPort();

    HttpResponse<byte[]> byPath =
        server.get("/" + elsewhere + "/" + repo() + "/nix-cache-info", null);
    assertEquals(403, byPath.statusCode(), TestServer.text(byPath));
    assertEquals(
        "registry "
            + elsewhere
            + ": not served here: this server serves only the registries its"
            + " --allow-registry flags name\n",
        TestServer.text(byPath));

    // ?registry= wins over the path; it is what is checked.
    HttpResponse<byte[]> byQuery =
        server.get("/" + repo() + "/nix-cache-info?registry=" + elsewhere, null);
    assertEquals(403, byQuery.statusCode(), TestServer.text(byQuery));
    assertTrue(TestServer.text(byQuery).contains("--allow-registry"));
    HttpResponse<byte[]> putByQuery =
        server.put(
            "/" + repo() + "/nix-cache-info?registry=" + elsewhere,
            "StoreDir: /nix/store\n".getBytes(StandardCharsets.UTF_8),
            null);
    assertEquals(403, putByQuery.statusCode(), TestServer.text(putByQuery));

    assertEquals(0, registry().proxiedRequests().size(), "no registry was asked");
    assertEquals(3, server.server.metrics().registryRefused());
    String metrics = TestServer.text(server.get("/-/metrics", null));
    assertTrue(metrics.contains("oranc_registry_refused_total{reason=\"not_allowed\"} 3"), metrics);
    assertTrue(metrics.contains("oranc_registry_refused_total{reason=\"address\"} 0"), metrics);

    // The allowed registry, by path and by query, is served.
    String repo = repo();
    HttpResponse<byte[]> put =
        server.put(
            "/" + registry().proxyAddress() + "/" + repo + "/nix-cache-info",
            "StoreDir: /nix/store\n".getBytes(StandardCharsets.UTF_8),
            null);
    assertEquals(200, put.statusCode(), TestServer.text(put));
    HttpResponse<byte[]> get =
        server.get("/" + repo + "/nix-cache-info?registry=" + registry().proxyAddress(), null);
    assertEquals(200, get.statusCode(), TestServer.text(get));
  }

  @Test
  void aRegistryOnAnAddressThePolicyCallsPrivateIs403AndCounted() throws Exception {
    // No allow-list: any registry on a public address. registry.test is 127.0.0.1, not public.
    server =
        TestServer.start(
            b ->
                b.allowRegistries(List.of())
                    .addressPolicy(
                        AddressPolicy.publicOnly(List.of())
                            .withTestName("registry.test", LOOPBACK)));
    registry().resetCounters();
    String base = "/registry.test:" + proxyPort() + "/" + repo();

    HttpResponse<byte[]> r = server.get(base + "/nix-cache-info", null);
    assertEquals(403, r.statusCode(), TestServer.text(r));
    assertTrue(TestServer.text(r).contains("--allow-registry"), TestServer.text(r));
    assertFalse(TestServer.text(r).contains("127.0.0.1"), TestServer.text(r));
    HttpResponse<byte[]> put =
        server.put(
            base + "/nix-cache-info",
            "StoreDir: /nix/store\n".getBytes(StandardCharsets.UTF_8),
            null);
    assertEquals(403, put.statusCode(), TestServer.text(put));
    assertEquals(0, registry().proxiedRequests().size(), "never connected");
    String metrics = TestServer.text(server.get("/-/metrics", null));
    // The GET's look-up, and the PUT's blob and config (the config starts at the body's digest).
    assertTrue(metrics.contains("oranc_registry_refused_total{reason=\"address\"} 3"), metrics);
  }

  @Test
  void theSameRegistryIsServedWhenThePolicyCallsItsAddressPublic() throws Exception {
    server =
        TestServer.start(
            b ->
                b.allowRegistries(List.of())
                    .addressPolicy(
                        AddressPolicy.publicOnly(List.of())
                            .withTestName("registry.test", LOOPBACK)
                            .withTestClass(LOOPBACK, AddressClass.PUBLIC)));
    String base = "/registry.test:" + proxyPort() + "/" + repo();
    byte[] info =
        "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n".getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> put = server.put(base + "/nix-cache-info", info, null);
    assertEquals(200, put.statusCode(), TestServer.text(put));
    HttpResponse<byte[]> get = server.get(base + "/nix-cache-info", null);
    assertEquals(200, get.statusCode(), TestServer.text(get));
    assertEquals(new String(info, StandardCharsets.UTF_8), TestServer.text(get));
    assertEquals(0, server.server.metrics().registryRefused());
  }

  @Test
  void aHostileRegistrysRedirectToAnInternalHostIsRefusedAndTheHostNeverAsked() throws Exception {
    AtomicInteger internalRequests = new AtomicInteger();
    HttpServer internal = HttpServer.create(new InetSocketAddress(LOOPBACK, 0), 0);
    internal.createContext(
        "/",
        exchange -> {
          internalRequests.incrementAndGet();
          byte[] secret = "{\"AccessKeyId\":\"internal-secret\"}".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, secret.length);
          exchange.getResponseBody().write(secret);
          exchange.close();
        });
    internal.start();
    try (FaultInjector hostile = new FaultInjector(registry().address(), null)) {
      server =
          TestServer.start(
              b ->
                  b.addressPolicy(
                      AddressPolicy.publicOnly(TestServer.LOOPBACK_REGISTRIES)
                          .withTestName("metadata.internal.test", LOOPBACK)));
      String base = "/" + hostile.address() + "/" + repo();
      byte[] nar =
          new byte[200 * 1024]; // over the small-blob bound: relayed, never digest-checked whole
      new Random(1).nextBytes(nar);
      HttpResponse<byte[]> put = server.put(base + "/nar/a.nar", nar, null);
      assertEquals(200, put.statusCode(), TestServer.text(put));

      hostile.add(
          FaultInjector.Rule.of(
              "GET",
              "/blobs/sha256:",
              FaultInjector.Fault.status(
                  307,
                  "Location",
                  "http://metadata.internal.test:"
                      + internal.getAddress().getPort()
                      + "/latest/credentials"),
              -1));
      HttpResponse<byte[]> get = server.get(base + "/nar/a.nar", null);

      assertEquals(403, get.statusCode(), TestServer.text(get));
      assertFalse(TestServer.text(get).contains("metadata.internal.test"), TestServer.text(get));
      assertFalse(TestServer.text(get).contains("internal-secret"));
      assertEquals(0, internalRequests.get(), "the internal host never sees a request");
      List<String> refusals = warnings("dev.oranc.common.registry.ConnectionPool");
      assertEquals(1, refusals.size(), refusals.toString());
      String line = refusals.get(0);
      assertTrue(line.contains("metadata.internal.test:" + internal.getAddress().getPort()), line);
      assertTrue(line.contains("loopback address"), line);
      assertTrue(line.contains("--allow-registry"), line);
      assertFalse(line.contains("/latest/credentials"), "no path or query of the target: " + line);
      assertTrue(hostile.injectedCount() >= 1, "the redirect was sent");
      assertEquals(1, server.server.metrics().registryRefused());
    } finally {
      internal.stop(0);
    }
  }

  @Test
  void theConfigFollowsTheAllowList() {
    ServerConfig none = ServerConfig.builder().build();
    assertTrue(none.serves("anything.example"));
    assertTrue(none.addressPolicy().enforced(), "the server refuses internal addresses by default");
    ServerConfig some =
        ServerConfig.builder()
            .allowRegistries(
                List.of(HostPattern.parse("ghcr.io"), HostPattern.parse("127.0.0.1:5000")))
            .build();
    assertTrue(some.serves("GHCR.IO"));
    assertTrue(some.serves("127.0.0.1:5000"));
    assertFalse(some.serves("127.0.0.1:5001"));
    assertFalse(some.serves("ghcr.io.evil.example"));
    assertTrue(some.addressPolicy().exempts("127.0.0.1", 5000));
    assertFalse(some.addressPolicy().exempts("127.0.0.1", 5001));
  }

  @Test
  void noSslWarnsAtStartUpWhatItExposesAndInsecureRegistryDoesNotNeedTo() {
    server = TestServer.start(b -> {});
    List<String> warned = warnings("dev.oranc.proxy.OrancServer");
    assertEquals(1, warned.size(), warned.toString());
    assertTrue(warned.get(0).startsWith("--no-ssl: "), warned.get(0));
    assertTrue(warned.get(0).contains("credentials and tokens"), warned.get(0));
    assertTrue(warned.get(0).contains("clear text"), warned.get(0));
    server.close();
    logged.clear();

    server =
        TestServer.start(
            b ->
                b.registry(
                    RegistryClientConfig.builder()
                        .insecureRegistries(TestServer.LOOPBACK_REGISTRIES)
                        .build()));
    assertEquals(List.of(), warnings("dev.oranc.proxy.OrancServer"));
    assertFalse(server.server.config().registry().tlsFor(registry().address()));
  }
}
