package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import io.netty.util.internal.PlatformDependent;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Clients that misbehave: one that stops reading (the server must stop reading the registry, not
 * buffer the NAR), one whose PUT stops half-way (nothing may be published), one that sends headers
 * slowly or sits idle (closed after the idle timeout).
 */
class ClientFaultTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(b -> b.idleTimeout(Duration.ofSeconds(1)));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String readHead(InputStream in) throws Exception {
    StringBuilder head = new StringBuilder();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      head.append((char) c);
      state = (c == '\r' || c == '\n') ? state + 1 : 0;
    }
    return head.toString();
  }

  @Test
  void aClientThatStopsReadingPausesTheRegistryInsteadOfBufferingTheNar() throws Exception {
    Registry r = registry.get();
    byte[] nar = new byte[64 << 20];
    new Random(5).nextBytes(nar);
    String path = "/" + r.address() + "/test/slow/nar/s.nar";
    // Its own server: the class's 1 s idle timeout would (rightly) close a client that reads
    // nothing, and may close a 64 MiB upload whose client a busy machine stalls for a second.
    try (TestServer patient = TestServer.start()) {
      assertEquals(200, patient.put(path, nar, null).statusCode());
    }
    long before = PlatformDependent.usedDirectMemory();
    try (TestServer patient = TestServer.start();
        Socket s = new Socket("127.0.0.1", patient.port())) {
      s.setReceiveBufferSize(64 * 1024);
      s.setSoTimeout(20_000);
      s.getOutputStream()
          .write(
              ("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      assertTrue(readHead(in).startsWith("HTTP/1.1 200"));
      in.readNBytes(1 << 20);
      // Not reading: the server fills what the sockets hold and must then stop reading from the
      // registry. Watched until its direct memory stays put (back-pressure took hold), the peak
      // on the way is what it held; a slow machine only makes the wait longer.
      long held = 0;
      long last = -1;
      int unchanged = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (unchanged < 10 && System.nanoTime() < deadline) {
        long now = PlatformDependent.usedDirectMemory();
        held = Math.max(held, now - before);
        unchanged = now == last ? unchanged + 1 : 0;
        last = now;
        Thread.sleep(50);
      }
      assertEquals(10, unchanged, "the server's direct memory never stopped changing");
      assertTrue(
          held < 16L << 20,
          "the server holds " + (held >> 20) + " MiB for a client that does not read");
      // Reading again gets the rest, byte for byte.
      byte[] rest = in.readNBytes(nar.length - (1 << 20));
      assertEquals(nar.length - (1 << 20), rest.length);
      assertEquals(nar[nar.length - 1], rest[rest.length - 1]);
    }
  }

  @Test
  void aPutThatStopsHalfWayPublishesNothing() throws Exception {
    Registry r = registry.get();
    String repo = "test/halfway";
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      OutputStream out = s.getOutputStream();
      out.write(
          ("PUT /"
                  + r.address()
                  + "/"
                  + repo
                  + "/nar/h.nar HTTP/1.1\r\nHost: x\r\n"
                  + "Content-Length: "
                  + (10 << 20)
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(new byte[5 << 20]);
      out.flush();
      awaitUploadsInFlight(1);
    } // closed half-way
    server.awaitStreamsSettled();
    assertEquals(404, server.get("/" + r.address() + "/" + repo + "/nar/h.nar", null).statusCode());
    assertEquals(List.of(), r.tags(repo));
    assertEquals(0, server.server.metrics().uploads().get());
  }

  @Test
  void slowHeadersAndIdleConnectionsAreClosedAfterTheIdleTimeout() throws Exception {
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      s.setSoTimeout(30_000);
      s.getOutputStream()
          .write("GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII)); // never ends
      // Closed without a word (no 400, no 408): only the idle close ends a head that never ends.
      // When (not before the timeout, counted from the last response) is PipelineTest's, on the
      // channel's frozen clock.
      assertEquals(-1, s.getInputStream().read(), "expected the server to close the connection");
    }
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      s.setSoTimeout(5000);
      s.getOutputStream()
          .write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      assertTrue(readHead(in).startsWith("HTTP/1.1 200"));
      in.readNBytes(33);
      try {
        assertEquals(-1, in.read(), "an idle keep-alive connection stayed open");
      } catch (SocketTimeoutException e) {
        throw new AssertionError("an idle keep-alive connection stayed open", e);
      }
    }
  }

  /** Waits (up to 10 s) until the server counts {@code n} uploads in flight. */
  private static void awaitUploadsInFlight(int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.server.metrics().uploads().get() != n && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(n, server.server.metrics().uploads().get(), "uploads in flight");
  }
}
