package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The latency proxy against an echo server on loopback: bytes arrive unchanged and in order, every
 * round trip takes at least the configured delay (timestamps the test and the proxy recorded; no
 * upper bound on wall time), a rate limit holds bytes back, and a reader that stops reading does
 * not make the proxy buffer without bound.
 */
class LatencyProxyTest {

  private ServerSocket echo;
  private Thread echoThread;

  @BeforeEach
  void startEcho() throws Exception {
    echo = new ServerSocket(0, 16, InetAddress.getByName("127.0.0.1"));
    echoThread =
        new Thread(
            () -> {
              while (!echo.isClosed()) {
                try {
                  Socket s = echo.accept();
                  Thread t =
                      new Thread(
                          () -> {
                            try (s;
                                InputStream in = s.getInputStream();
                                OutputStream out = s.getOutputStream()) {
                              in.transferTo(out);
                            } catch (Exception ignored) {
                              // the test closed it
                            }
                          });
                  t.setDaemon(true);
                  t.start();
                } catch (Exception e) {
                  return;
                }
              }
            });
    echoThread.setDaemon(true);
    echoThread.start();
  }

  @AfterEach
  void stopEcho() throws Exception {
    echo.close();
  }

  private InetSocketAddress echoAddress() {
    return new InetSocketAddress("127.0.0.1", echo.getLocalPort());
  }

  @Test
  void everyRoundTripTakesAtLeastTheDelayAndBytesComeBackInOrder() throws Exception {
    Duration rtt = Duration.ofMillis(40);
    try (LatencyProxy proxy = new LatencyProxy(echoAddress(), rtt, 0);
        Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setTcpNoDelay(true);
      OutputStream out = s.getOutputStream();
      DataInputStream in = new DataInputStream(s.getInputStream());
      Random random = new Random(1);
      for (int i = 0; i < 5; i++) {
        byte[] sent = new byte[1 + random.nextInt(100_000)];
        random.nextBytes(sent);
        long start = System.nanoTime();
        out.write(sent);
        out.flush();
        byte[] back = new byte[sent.length];
        in.readFully(back);
        long took = System.nanoTime() - start;
        assertArrayEquals(sent, back);
        assertTrue(took >= rtt.toNanos(), "round trip " + took + " ns, below " + rtt);
      }
      assertEquals(1, proxy.connections());
      assertTrue(proxy.minimumHeldNanos() >= rtt.toNanos() / 2, "held " + proxy.minimumHeldNanos());
    }
  }

  @Test
  void aRateLimitHoldsBytesBack() throws Exception {
    long rate = 200_000; // bytes per second per direction
    try (LatencyProxy proxy = new LatencyProxy(echoAddress(), Duration.ZERO, rate);
        Socket s = new Socket("127.0.0.1", proxy.port())) {
      byte[] sent = new byte[100_000];
      new Random(2).nextBytes(sent);
      long start = System.nanoTime();
      s.getOutputStream().write(sent);
      byte[] back = new byte[sent.length];
      new DataInputStream(s.getInputStream()).readFully(back);
      long took = System.nanoTime() - start;
      assertArrayEquals(sent, back);
      // Each direction may send its first chunk at once; the rest waits for its share of time.
      long atLeast = (sent.length - 16 * 1024) * 1_000_000_000L / rate;
      assertTrue(took >= atLeast, "took " + took + " ns, expected at least " + atLeast);
    }
  }

  @Test
  void aSideThatStopsReadingStopsTheOtherSideWithBoundedBuffering() throws Exception {
    // The echo server is never read from: its writes block, so it stops reading, so the proxy's
    // upward queue fills to its bound, so the proxy stops reading from us. A writer therefore
    // blocks after roughly (bound + socket buffers), never after everything.
    try (LatencyProxy proxy = new LatencyProxy(echoAddress(), Duration.ofMillis(2), 0);
        Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setSoTimeout(10_000);
      long[] written = {0};
      Thread writer =
          new Thread(
              () -> {
                byte[] chunk = new byte[64 * 1024];
                try {
                  OutputStream out = s.getOutputStream();
                  while (written[0] < 512L * 1024 * 1024) {
                    out.write(chunk);
                    synchronized (written) {
                      written[0] += chunk.length;
                    }
                  }
                } catch (Exception e) {
                  // closed by the test
                }
              });
      writer.setDaemon(true);
      writer.start();
      // Wait until the writer has stalled: no progress across a bounded number of checks.
      long last = -1;
      for (int i = 0; i < 400; i++) {
        writer.join(50);
        long now;
        synchronized (written) {
          now = written[0];
        }
        if (now == last && now > 0) {
          break;
        }
        last = now;
      }
      // Absence of progress can only be shown by waiting: without back-pressure the writer would
      // finish its 512 MiB on loopback long before this join returns.
      writer.join(2_000);
      long stalledAt;
      synchronized (written) {
        stalledAt = written[0];
      }
      assertTrue(
          writer.isAlive(), "the writer never blocked: " + stalledAt + " bytes went through");
      // Two queues of the bound plus kernel buffers on three sockets: well under 512 MiB.
      assertTrue(stalledAt < 64L * 1024 * 1024, "buffered " + stalledAt + " bytes");
      s.close();
    }
  }
}
