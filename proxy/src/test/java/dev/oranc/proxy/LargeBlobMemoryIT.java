package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.MemorySampler;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import io.netty.buffer.ByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A 2 GiB NAR through a server whose JVM has a 256 MiB heap (this class runs in its own failsafe
 * execution, {@code -Xmx256m}): one streaming PUT, then 8 clients downloading it at once. Passes
 * only if nothing holds a NAR in memory: the heap could not, and the pooled direct memory the
 * server uses is sampled and bounded too. Bytes are checked by length and CRC32 on every client.
 */
class LargeBlobMemoryIT {

  private static final Logger log = LoggerFactory.getLogger(LargeBlobMemoryIT.class);

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final long SIZE = Long.getLong("oranc.test.largeBlobBytes", 2L << 30);
  private static final int CLIENTS = 8;
  private static final int BLOCK = 1 << 20;

  @Test
  void aTwoGibNarGoesUpAndComesDownToEightClientsWithinASmallHeap() throws Exception {
    Registry r = registry.get();
    byte[] block = new byte[BLOCK];
    new Random(42).nextBytes(block);
    CRC32 expected = new CRC32();
    for (long done = 0; done < SIZE; done += BLOCK) {
      expected.update(block, 0, (int) Math.min(BLOCK, SIZE - done));
    }

    try (TestServer server = TestServer.start(b -> {})) {
      String path = "/" + r.address() + "/test/large/nar/big.nar.zst";
      MemorySampler sampler = MemorySampler.start();
      try {
        long t0 = System.nanoTime();
        String answer = put(server.port(), path, block);
        double putSeconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        log.info(
            "PUT {} MiB in {} s: {} MB/s",
            SIZE >> 20,
            String.format("%.1f", putSeconds),
            String.format("%.0f", SIZE / putSeconds / 1e6));

        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
          List<Future<long[]>> results = new ArrayList<>();
          long t1 = System.nanoTime();
          for (int i = 0; i < CLIENTS; i++) {
            results.add(pool.submit((Callable<long[]>) () -> get(server.port(), path)));
          }
          for (Future<long[]> f : results) {
            long[] got = f.get(10, TimeUnit.MINUTES);
            assertEquals(SIZE, got[0], "bytes received");
            assertEquals(expected.getValue(), got[1], "CRC32 of what was received");
          }
          double getSeconds = (System.nanoTime() - t1) / 1e9;
          log.info(
              "GET {} x {} MiB in {} s: {} MB/s in all",
              CLIENTS,
              SIZE >> 20,
              String.format("%.1f", getSeconds),
              String.format("%.0f", CLIENTS * SIZE / getSeconds / 1e6));
        } finally {
          pool.shutdownNow();
        }
      } finally {
        sampler.close();
      }
      log.info(
          "peak heap used {} MiB (max {} MiB), peak direct memory of the allocator {} MiB ({})",
          sampler.peakHeap() >> 20,
          Runtime.getRuntime().maxMemory() >> 20,
          sampler.peakDirect() >> 20,
          ByteBufAllocator.DEFAULT.getClass().getSimpleName());
      assertTrue(
          Runtime.getRuntime().maxMemory() <= 300L << 20,
          "this test must run with -Xmx256m (its own failsafe execution)");
      assertTrue(
          sampler.peakDirect() < 96L << 20,
          "direct memory peaked at " + (sampler.peakDirect() >> 20) + " MiB");
      server.awaitStreamsSettled();
      assertEquals(0, server.server.metrics().downloads().get());
      assertEquals(0, server.server.metrics().uploads().get());
    }
  }

  /** PUT of SIZE bytes (the block repeated) over a raw socket; returns the answer's status line. */
  private static String put(int port, String path, byte[] block) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(300_000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("PUT "
                  + path
                  + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-nix-nar\r\n"
                  + "Content-Length: "
                  + SIZE
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      for (long done = 0; done < SIZE; done += BLOCK) {
        out.write(block, 0, (int) Math.min(BLOCK, SIZE - done));
      }
      out.flush();
      return readHead(s.getInputStream());
    }
  }

  /** GET over a raw socket: {bytes of body, CRC32}. */
  private static long[] get(int port, String path) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(120_000);
      s.getOutputStream()
          .write(
              ("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      String head = readHead(in);
      assertTrue(head.startsWith("HTTP/1.1 200"), head);
      assertTrue(head.toLowerCase().contains("content-length: " + SIZE), head);
      CRC32 crc = new CRC32();
      byte[] buf = new byte[256 * 1024];
      long n = 0;
      int k;
      while (n < SIZE && (k = in.read(buf, 0, (int) Math.min(buf.length, SIZE - n))) > 0) {
        crc.update(buf, 0, k);
        n += k;
      }
      return new long[] {n, crc.getValue()};
    }
  }

  private static String readHead(InputStream in) throws Exception {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      head.write(c);
      state = (c == '\r' || c == '\n') ? state + 1 : 0;
    }
    return head.toString(StandardCharsets.US_ASCII);
  }
}
