package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Upstream redirects ({@code -u}, {@code -i}, {@code --upstream-anonymous}); start and stop. */
class UpstreamAndLifecycleTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final String CREDS = TestServer.basic("someone", "secret");

  /** A plain HTTP cache: HEAD answers 200 for the keys it has, 500 for "broken/…", else 404. */
  private static HttpServer upstream(List<String> seen, String... has) throws Exception {
    HttpServer up = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    up.createContext(
        "/",
        exchange -> {
          String path = exchange.getRequestURI().getRawPath();
          seen.add(exchange.getRequestMethod() + " " + path);
          int status = List.of(has).contains(path) ? 200 : path.contains("broken") ? 500 : 404;
          exchange.sendResponseHeaders(status, -1);
          exchange.close();
        });
    up.start();
    return up;
  }

  @Test
  void aKeyTheUpstreamHasIsARedirectForRequestsWithCredentials() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer up =
        upstream(seen, "/cache/abc.narinfo", "/cache/nix-cache-info", "/cache/nar/x.nar.xz");
    String upstreamBase = "http://127.0.0.1:" + up.getAddress().getPort() + "/cache";
    try (TestServer server =
        TestServer.start(b -> b.upstreams(List.of(URI.create(upstreamBase))))) {
      String base = "/" + registry.get().address() + "/test/up";
      HttpResponse<byte[]> r = server.get(base + "/abc.narinfo", CREDS);
      assertEquals(302, r.statusCode());
      assertEquals(upstreamBase + "/abc.narinfo", r.headers().firstValue("Location").orElse(null));
      assertEquals(302, server.head(base + "/nar/x.nar.xz", CREDS).statusCode());

      // Cached: asking again does not ask the upstream again.
      int asked = seen.size();
      assertEquals(302, server.get(base + "/abc.narinfo", CREDS).statusCode());
      assertEquals(asked, seen.size());

      // Anonymous requests are not redirected without --upstream-anonymous; nix-cache-info never
      // is.
      assertEquals(404, server.get(base + "/abc.narinfo", null).statusCode());
      assertEquals(404, server.get(base + "/nix-cache-info", CREDS).statusCode());
      assertTrue(seen.stream().noneMatch(s -> s.endsWith("nix-cache-info")), seen.toString());

      // An upstream that fails is skipped (after --max-retry attempts): the registry answers.
      assertEquals(404, server.get(base + "/broken.narinfo", CREDS).statusCode());
      assertEquals(
          2, seen.stream().filter(s -> s.endsWith("broken.narinfo")).count(), seen.toString());
    } finally {
      up.stop(0);
    }
  }

  @Test
  void upstreamAnonymousRedirectsRequestsWithoutCredentialsToo() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer up = upstream(seen, "/abc.narinfo");
    String upstreamBase = "http://127.0.0.1:" + up.getAddress().getPort();
    try (TestServer server =
        TestServer.start(
            b -> b.upstreams(List.of(URI.create(upstreamBase))).upstreamAnonymous(true))) {
      HttpResponse<byte[]> r =
          server.get("/" + registry.get().address() + "/test/up2/abc.narinfo", null);
      assertEquals(302, r.statusCode());
      assertEquals(upstreamBase + "/abc.narinfo", r.headers().firstValue("Location").orElse(null));
    } finally {
      up.stop(0);
    }
  }

  @Test
  void aTakenPortIsAClearOneLineError() {
    try (TestServer first = TestServer.start()) {
      ServerStartException e =
          assertThrows(
              ServerStartException.class,
              () ->
                  TestServer.start(
                      b -> b.listen(new InetSocketAddress("127.0.0.1", first.port()))));
      assertTrue(e.getMessage().contains("127.0.0.1:" + first.port()), e.getMessage());
      assertTrue(e.getMessage().contains("already in use"), e.getMessage());
      assertEquals(1, e.getMessage().lines().count());
    }
  }

  @Test
  void shutdownLetsADownloadInFlightFinishAndRefusesNewConnections() throws Exception {
    Registry r = registry.get();
    byte[] nar = new byte[8 << 20];
    new Random(3).nextBytes(nar);
    TestServer server = TestServer.start(b -> b.shutdownGrace(Duration.ofSeconds(20)));
    int port = server.port();
    String path = "/" + r.address() + "/test/drain/nar/n.nar";
    assertEquals(200, server.put(path, nar, null).statusCode());
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setReceiveBufferSize(64 * 1024);
      s.setSoTimeout(20_000);
      s.getOutputStream()
          .write(
              ("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      byte[] first = in.readNBytes(1000);
      assertTrue(new String(first, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"));
      Thread closer = new Thread(server::close);
      closer.start();
      // Waits for the event (the listening socket closes), not a fixed time; this download is
      // still in flight throughout, as its client reads nothing more until after.
      boolean refused = false;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!refused && System.nanoTime() < deadline) {
        try {
          new Socket("127.0.0.1", port).close();
          Thread.sleep(10);
        } catch (ConnectException e) {
          refused = true;
        }
      }
      assertTrue(refused, "still accepting");
      assertTrue(closer.isAlive(), "close() returned before the download in flight finished");
      ByteArrayOutputStream rest = new ByteArrayOutputStream();
      in.transferTo(rest); // to EOF: the server closes after the response
      String head = new String(first, StandardCharsets.US_ASCII);
      int bodyStart = head.indexOf("\r\n\r\n") + 4;
      assertEquals(nar.length, first.length - bodyStart + rest.size());
      closer.join(20_000);
      assertTrue(!closer.isAlive(), "close() did not return");
    }
  }

  @Test
  void manyConcurrentUploadsAndDownloadsKeepTheCountersRight() throws Exception {
    try (TestServer server = TestServer.start()) {
      String base = "/" + registry.get().address() + "/test/many";
      AtomicInteger ok = new AtomicInteger();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        int n = i;
        threads.add(
            new Thread(
                () -> {
                  try {
                    byte[] body =
                        ("file " + n).repeat(1000 * n + 1).getBytes(StandardCharsets.UTF_8);
                    if (server.put(base + "/f" + n, body, null).statusCode() == 200
                        && Arrays.equals(body, server.get(base + "/f" + n, null).body())) {
                      ok.incrementAndGet();
                    }
                  } catch (Exception e) {
                    throw new RuntimeException(e);
                  }
                }));
      }
      threads.forEach(Thread::start);
      for (Thread t : threads) {
        t.join(60_000);
      }
      assertEquals(16, ok.get());
      server.awaitStreamsSettled();
      assertEquals(0, server.server.metrics().uploads().get());
      assertEquals(0, server.server.metrics().downloads().get());
    }
  }
}
