package dev.oranc.proxy.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.auth.Credentials;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MultipartUploads}' slot bookkeeping on its own (addresses are values here, never connected
 * to): the caps hold under racing reserves, the server-wide bound holds across distinct clients, an
 * IPv6 client counts by its /64, and the counts hold no entry for a client with nothing open.
 * {@code proxy.MultipartSlotsTest} drives the same through the real S3 path.
 */
class MultipartSlotsUnitTest {

  @TempDir Path spool;

  private MultipartUploads uploads(int perClient) {
    return new MultipartUploads(
        spool, 1 << 20, Duration.ofHours(1), perClient, Ticker.systemTicker());
  }

  private static InetSocketAddress at(byte... ip) throws Exception {
    return new InetSocketAddress(InetAddress.getByAddress(ip), 40000);
  }

  /** The {@code i}-th loopback address, as a value (never connected to). */
  private static InetSocketAddress v4(int i) throws Exception {
    return at((byte) 127, (byte) (i >> 16), (byte) (i >> 8), (byte) i);
  }

  @Test
  void racingReservesNeverExceedTheCapAndReleasingEmptiesTheCounts() throws Exception {
    try (MultipartUploads u = uploads(5)) {
      Credentials alice = Credentials.basic("alice", "pw");
      ExecutorService pool = Executors.newFixedThreadPool(8);
      CountDownLatch go = new CountDownLatch(1);
      ConcurrentLinkedQueue<MultipartUploads.Slot> granted = new ConcurrentLinkedQueue<>();
      AtomicInteger refused = new AtomicInteger();
      List<Future<?>> all = new ArrayList<>();
      try {
        for (int i = 0; i < 64; i++) {
          InetSocketAddress from = v4(i);
          all.add(
              pool.submit(
                  () -> {
                    go.await();
                    try {
                      granted.add(u.reserve(alice, from));
                    } catch (S3Rejected.SlowDown e) {
                      assertTrue(e.clientAtItsLimit());
                      refused.incrementAndGet();
                    }
                    return null;
                  }));
        }
        go.countDown();
        for (Future<?> f : all) {
          f.get(10, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(5, granted.size());
      assertEquals(59, refused.get());
      assertEquals(1 + 5, u.clientEntries(), "one credential, five addresses");
      MultipartUploads.Slot first = granted.peek();
      first.release();
      first.release(); // idempotent: gives back one slot, not two
      assertEquals(1 + 4, u.clientEntries());
      u.reserve(alice, v4(100));
      assertThrows(S3Rejected.SlowDown.class, () -> u.reserve(alice, v4(101)));
      granted.forEach(MultipartUploads.Slot::release);
      assertEquals(2, u.clientEntries(), "the slot at 127.0.0.100 is still held");
    }
  }

  @Test
  void theServerWideBoundHoldsAcrossDistinctClients() throws Exception {
    try (MultipartUploads u = uploads(1)) {
      List<MultipartUploads.Slot> slots = new ArrayList<>();
      for (int i = 0; i < MultipartUploads.MAX_UPLOADS; i++) {
        slots.add(u.reserve(Credentials.basic("user" + i, "pw"), v4(i)));
      }
      S3Rejected.SlowDown full =
          assertThrows(
              S3Rejected.SlowDown.class,
              () ->
                  u.reserve(Credentials.basic("one-more", "pw"), v4(MultipartUploads.MAX_UPLOADS)));
      assertTrue(!full.clientAtItsLimit(), "the server's bound, not the client's");
      assertEquals(2 * MultipartUploads.MAX_UPLOADS, u.clientEntries());
      slots.forEach(MultipartUploads.Slot::release);
      assertEquals(0, u.clientEntries());
      u.reserve(Credentials.basic("one-more", "pw"), v4(MultipartUploads.MAX_UPLOADS)).release();
      assertEquals(0, u.clientEntries());
    }
  }

  @Test
  void anIpv6ClientCountsByItsSlash64AndAnonymousClientsShareOneAllowance() throws Exception {
    byte[] a = new byte[16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = (byte) 0xb8; // 2001:db8::/32, the documentation prefix
    byte[] b = a.clone();
    b[15] = 1;
    byte[] otherNet = a.clone();
    otherNet[7] = 1;
    assertEquals(MultipartUploads.clientKey(at(a)), MultipartUploads.clientKey(at(b)));
    assertNotEquals(MultipartUploads.clientKey(at(a)), MultipartUploads.clientKey(at(otherNet)));
    assertNotEquals(MultipartUploads.clientKey(v4(1)), MultipartUploads.clientKey(v4(2)));

    try (MultipartUploads u = uploads(2)) {
      MultipartUploads.Slot s1 = u.reserve(Credentials.basic("k1", "pw"), at(a));
      MultipartUploads.Slot s2 = u.reserve(Credentials.basic("k2", "pw"), at(b));
      assertThrows(
          S3Rejected.SlowDown.class,
          () -> u.reserve(Credentials.basic("k3", "pw"), at(b)),
          "another address in the same /64");
      u.reserve(Credentials.basic("k3", "pw"), at(otherNet)).release();
      s1.release();
      s2.release();

      MultipartUploads.Slot x = u.reserve(Credentials.anonymous(), v4(1));
      MultipartUploads.Slot y = u.reserve(Credentials.anonymous(), v4(2));
      assertThrows(S3Rejected.SlowDown.class, () -> u.reserve(Credentials.anonymous(), v4(3)));
      x.release();
      y.release();
      assertEquals(0, u.clientEntries());
    }
  }

  @Test
  void aCapOutsideItsRangeIsRefusedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> uploads(0));
    assertTrue(e.getMessage().contains("multipart uploads per client: 0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> uploads(MultipartUploads.MAX_UPLOADS + 1));
  }
}
