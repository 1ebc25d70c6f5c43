package dev.oranc.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy on a loopback port that makes a link slow: every chunk read from one side is written
 * to the other half a round trip after it arrived ({@code arrival + roundTrip / 2}), never earlier
 * and never out of order within a connection, optionally at most {@code bytesPerSecond} per
 * connection and direction. It stands in for {@code tc netem}, which these machines do not have:
 * what it copies of a WAN is the delay and the bandwidth, not loss, jitter or a congestion window.
 *
 * <p>Memory is bounded: each direction of a connection holds at most {@link #MAX_QUEUED_BYTES}
 * (plus one read) that arrived but are not yet due; past that its reader stops reading, so the
 * sender's TCP window fills and it slows down (back-pressure), as a real bottleneck would.
 *
 * <p>Two threads per direction per connection, blocking I/O: for tests and benchmarks on loopback.
 * {@link #forwarded()} and {@link #minimumHeldNanos()} expose what the proxy measured itself, so a
 * test can check the delay it added without timing the wall clock.
 */
public final class LatencyProxy implements AutoCloseable {

  /** Bytes per direction that may wait for their time; the reader pauses above this. */
  public static final int MAX_QUEUED_BYTES = 1024 * 1024;

  private static final int READ_BYTES = 16 * 1024;
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

  private final InetSocketAddress upstream;
  private final long oneWayNanos;
  private final long bytesPerSecond;
  private final ServerSocket server;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicLong forwarded = new AtomicLong();
  private final AtomicLong minimumHeld = new AtomicLong(Long.MAX_VALUE);
  private volatile boolean closed;

  /**
   * @param roundTrip added to every round trip, half each way
   * @param bytesPerSecond per connection and direction; 0 for no limit
   */
  public LatencyProxy(InetSocketAddress upstream, Duration roundTrip, long bytesPerSecond) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    if (roundTrip.isNegative() || bytesPerSecond < 0) {
      throw new IllegalArgumentException(
          "roundTrip "
              + roundTrip
              + " and bytesPerSecond "
              + bytesPerSecond
              + " must not be negative");
    }
    this.oneWayNanos = roundTrip.toNanos() / 2;
    this.bytesPerSecond = bytesPerSecond;
    try {
      this.server = new ServerSocket(0, 64, InetAddress.getByName("127.0.0.1"));
    } catch (IOException e) {
      throw new IllegalStateException("cannot listen on loopback: " + e, e);
    }
    daemon("oranc-testkit-latency-accept-" + server.getLocalPort(), this::acceptLoop).start();
  }

  /** {@code 127.0.0.1:PORT}. */
  public String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  public int port() {
    return server.getLocalPort();
  }

  public int connections() {
    return connections.get();
  }

  /** Chunks forwarded so far, both directions. */
  public long forwarded() {
    return forwarded.get();
  }

  /** The shortest time a forwarded chunk was held (arrival to write), by the proxy's own clock. */
  public long minimumHeldNanos() {
    return minimumHeld.get();
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      connections.incrementAndGet();
      Socket up = new Socket();
      try {
        up.connect(upstream, CONNECT_TIMEOUT_MILLIS);
        client.setTcpNoDelay(true);
        up.setTcpNoDelay(true);
      } catch (IOException e) {
        closeQuietly(client);
        closeQuietly(up);
        continue;
      }
      sockets.add(client);
      sockets.add(up);
      AtomicInteger running = new AtomicInteger(2);
      Runnable done =
          () -> {
            if (running.decrementAndGet() == 0) {
              closeQuietly(client);
              closeQuietly(up);
              sockets.remove(client);
              sockets.remove(up);
            }
          };
      String id = Integer.toString(client.getPort());
      direction(client, up, done, "up-" + id);
      direction(up, client, done, "down-" + id);
    }
  }

  /** A chunk and when it arrived; {@code bytes == null} marks the end of the stream. */
  private record Chunk(byte[] bytes, long arrivedNanos) {}

  /** The chunks of one direction not yet written, and how many bytes they hold. */
  private static final class Queue {
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    private long bytes;
    private boolean failed;

    synchronized void put(Chunk c) throws InterruptedException {
      while (bytes > MAX_QUEUED_BYTES && !failed) {
        wait();
      }
      chunks.add(c);
      bytes += c.bytes() == null ? 0 : c.bytes().length;
      notifyAll();
    }

    synchronized Chunk take() throws InterruptedException {
      while (chunks.isEmpty() && !failed) {
        wait();
      }
      if (failed) {
        return new Chunk(null, 0);
      }
      Chunk c = chunks.poll();
      bytes -= c.bytes() == null ? 0 : c.bytes().length;
      notifyAll();
      return c;
    }

    synchronized void fail() {
      failed = true;
      notifyAll();
    }
  }

  private void direction(Socket from, Socket to, Runnable done, String id) {
    Queue queue = new Queue();
    AtomicInteger ends = new AtomicInteger(2);
    Runnable end =
        () -> {
          if (ends.decrementAndGet() == 0) {
            done.run();
          }
        };
    daemon(
            "oranc-testkit-latency-read-" + id,
            () -> {
              try {
                // Not closed here: closing a socket's stream closes the socket, and the other
                // direction
                // may still be sending.
                InputStream in = from.getInputStream();
                byte[] buffer = new byte[READ_BYTES];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                  queue.put(new Chunk(Arrays.copyOf(buffer, n), System.nanoTime()));
                }
                queue.put(new Chunk(null, System.nanoTime()));
              } catch (IOException | InterruptedException e) {
                queue.fail();
              } finally {
                end.run();
              }
            })
        .start();
    daemon(
            "oranc-testkit-latency-write-" + id,
            () -> {
              long nextFree = 0;
              try {
                OutputStream out = to.getOutputStream();
                while (true) {
                  Chunk c = queue.take();
                  sleepUntil(c.arrivedNanos() + oneWayNanos);
                  if (c.bytes() == null) {
                    if (!to.isClosed()) {
                      to.shutdownOutput();
                    }
                    return;
                  }
                  if (bytesPerSecond > 0) {
                    nextFree = Math.max(nextFree, System.nanoTime());
                    sleepUntil(nextFree);
                    nextFree += c.bytes().length * 1_000_000_000L / bytesPerSecond;
                  }
                  long held = System.nanoTime() - c.arrivedNanos();
                  minimumHeld.accumulateAndGet(held, Math::min);
                  out.write(c.bytes());
                  out.flush();
                  forwarded.incrementAndGet();
                }
              } catch (IOException | InterruptedException e) {
                queue.fail();
                closeQuietly(from);
                closeQuietly(to);
              } finally {
                end.run();
              }
            })
        .start();
  }

  private static void sleepUntil(long deadlineNanos) throws InterruptedException {
    long left;
    while ((left = deadlineNanos - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
  }

  private static Thread daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // closing anyway
    }
  }
}
