package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The limits against resource exhaustion: {@code --max-connections} (a connection over it is
 * answered 503 and closed at once, with one warning per interval however many there are) and {@code
 * --max-streams-per-client} (a download or upload over it is a 503 with {@code Retry-After}, for
 * that address only, and the allowance comes back however a stream ends).
 */
class LimitsTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final int DEADLINE = 5000;
  private static String narPath;
  private static String narinfoPath;
  private static byte[] nar;

  @BeforeAll
  static void seed() throws Exception {
    Registry r = registry.get();
    nar = new byte[8 << 20];
    new Random(9).nextBytes(nar);
    String base = "/" + r.address() + "/test/limits";
    narPath = base + "/nar/l.nar";
    narinfoPath = base + "/l.narinfo";
    try (TestServer s = TestServer.start(b -> b.maxStreamsPerClient(0))) {
      assertEquals(200, s.put(narPath, nar, null).statusCode());
      assertEquals(
          200,
          s.put(narinfoPath, "StorePath: /nix/store/l\n".getBytes(StandardCharsets.UTF_8), null)
              .statusCode());
    }
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }

  /** A connection whose request got its answer, held open. */
  private static RawHttp served(TestServer server) throws Exception {
    RawHttp c = new RawHttp(server.port(), DEADLINE);
    c.write(get("/-/health"));
    RawHttp.Response r = c.read();
    assertNotNull(r);
    assertEquals(200, r.status());
    return c;
  }

  @Test
  void aConnectionOverTheLimitIs503AndClosedAtOnceWithOneWarning() throws Exception {
    Logger limiterLog = (Logger) LoggerFactory.getLogger("dev.oranc.proxy.http.ConnectionLimiter");
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    limiterLog.addAppender(events);
    List<RawHttp> held = new ArrayList<>();
    try (TestServer server = TestServer.start(b -> b.maxConnections(4))) {
      for (int i = 0; i < 4; i++) {
        held.add(served(server));
      }
      for (int i = 0; i < 5; i++) {
        try (RawHttp over = new RawHttp(server.port(), DEADLINE)) {
          // At once: the four inside the limit stay open throughout, so an answer at all (within
          // the read deadline) is one that did not wait for a slot.
          RawHttp.Response r = over.read();
          assertNotNull(r, "refused without an answer");
          assertEquals(503, r.status(), r.toString());
          assertEquals("1", r.header("retry-after"));
          assertEquals("nosniff", r.header("x-content-type-options"));
          assertEquals("no-store", r.header("cache-control"));
          assertTrue(r.text().contains("too many connections"), r.text());
          assertTrue(over.closedByServer());
        }
      }
      // The ones inside the limit are still served.
      RawHttp first = held.get(0);
      first.write(get("/-/health"));
      assertEquals(200, first.read().status());
      // One closes: a new connection is served again.
      held.remove(0).close();
      RawHttp again = null;
      for (int attempt = 0; attempt < 50 && again == null; attempt++) {
        RawHttp c = new RawHttp(server.port(), DEADLINE);
        c.write(get("/-/health"));
        RawHttp.Response r = c.read();
        if (r != null && r.status() == 200) {
          again = c;
        } else {
          c.close();
          Thread.sleep(20);
        }
      }
      assertNotNull(again, "no connection served after one of the four closed");
      held.add(again);
      assertTrue(server.server.metrics().connectionsRefused() >= 5);
    } finally {
      for (RawHttp c : held) {
        c.close();
      }
      limiterLog.detachAppender(events);
    }
    long warnings = events.list.stream().filter(e -> e.getLevel() == Level.WARN).count();
    assertEquals(1, warnings, "one warning for a burst of refusals: " + events.list);
    assertTrue(
        events.list.get(0).getFormattedMessage().contains("--max-connections"),
        events.list.get(0).getFormattedMessage());
  }

  /** A download whose client reads its head and then nothing: the stream stays in flight. */
  private static Socket holdDownload(TestServer server, InetAddress from) throws Exception {
    Socket s = new Socket(InetAddress.getByName("127.0.0.1"), server.port(), from, 0);
    s.setReceiveBufferSize(32 * 1024);
    s.setSoTimeout(DEADLINE);
    s.getOutputStream().write(get(narPath).getBytes(StandardCharsets.US_ASCII));
    InputStream in = s.getInputStream();
    byte[] head = in.readNBytes(12);
    assertEquals("HTTP/1.1 200", new String(head, StandardCharsets.US_ASCII));
    return s;
  }

  private static RawHttp.Response once(
      TestServer server, InetAddress from, String request, boolean head) throws Exception {
    try (RawHttp c = RawHttp.from(from, server.port(), DEADLINE)) {
      c.write(request);
      return c.read(head);
    }
  }

  @Test
  void aClientOverItsStreamsGets503WithRetryAfterAndOthersAreServed() throws Exception {
    InetAddress a = InetAddress.getByName("127.0.0.1");
    InetAddress b = InetAddress.getByName("127.0.0.2");
    try (TestServer server = TestServer.start(c -> c.maxStreamsPerClient(2))) {
      Socket one = holdDownload(server, a);
      Socket two = holdDownload(server, a);
      try {
        RawHttp.Response third = once(server, a, get(narPath), false);
        assertEquals(503, third.status(), third.toString());
        assertEquals("2", third.header("retry-after"));
        assertEquals(1, third.text().strip().lines().count(), third.text());
        // An upload is a stream too.
        RawHttp.Response put =
            once(
                server,
                a,
                "PUT " + narPath + ".2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
                false);
        assertEquals(503, put.status(), put.toString());
        // A narinfo (answered from memory) is not.
        assertEquals(200, once(server, a, get(narinfoPath), false).status());
        // Another address is not affected.
        RawHttp.Response other = once(server, b, get(narPath), false);
        assertEquals(200, other.status());
        assertEquals(nar.length, other.body().length);
        assertEquals(2, server.server.metrics().streamsRefused());
      } finally {
        one.close();
      }
      // The allowance comes back when a stream ends (here: its client hung up).
      RawHttp.Response back = null;
      for (int i = 0; i < 100 && (back == null || back.status() != 200); i++) {
        back = once(server, a, get(narPath), false);
        if (back.status() != 200) {
          Thread.sleep(20);
        }
      }
      assertEquals(200, back.status(), String.valueOf(back));
      assertEquals(nar.length, back.body().length);
      two.close();
      // Exactly two again: nothing was counted twice or lost (once the hung-up stream has ended).
      server.awaitStreamsSettled();
      Socket x = holdDownload(server, a);
      Socket y = holdDownload(server, a);
      try {
        assertEquals(503, once(server, a, get(narPath), false).status());
      } finally {
        x.close();
        y.close();
      }
    }
  }

  @Test
  void theAllowanceComesBackWhenStreamsFail() throws Exception {
    long size = 1 << 20;
    try (FakeRegistry fake =
            FakeRegistry.byTarget(
                (m, uri, reply) -> {
                  if (uri.contains("/manifests/")) {
                    reply.send(
                        200,
                        FakeRegistry.OCI_MANIFEST,
                        NarManifests.manifest(size, 1).getBytes(StandardCharsets.UTF_8));
                  } else if (m.equals("GET")) {
                    reply.truncate(size, new byte[1000]);
                  } else {
                    reply.send(500, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"no\"}]}");
                  }
                });
        TestServer server = TestServer.start(c -> c.maxStreamsPerClient(1))) {
      InetAddress a = InetAddress.getByName("127.0.0.1");
      for (int i = 0; i < 3; i++) {
        try (Socket s = new Socket(a, server.port())) {
          s.setSoTimeout(DEADLINE);
          s.getOutputStream()
              .write(
                  get("/" + fake.address() + "/a/b/nar/t.nar").getBytes(StandardCharsets.US_ASCII));
          byte[] all = s.getInputStream().readAllBytes(); // to the server's close
          String text = new String(all, 0, Math.min(12, all.length), StandardCharsets.US_ASCII);
          assertEquals("HTTP/1.1 200", text, "download " + (i + 1));
          assertTrue(all.length < size, "a truncated stream looked complete");
        }
        RawHttp.Response put =
            once(
                server,
                a,
                "PUT /"
                    + fake.address()
                    + "/a/b/nar/u.nar HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
                false);
        assertEquals(502, put.status(), "upload " + (i + 1) + ": " + put);
      }
      assertEquals(0, server.server.metrics().streamsRefused());
    }
  }
}
