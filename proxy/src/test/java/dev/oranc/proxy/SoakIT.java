package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.FaultInjector.Fault;
import dev.oranc.testkit.FaultInjector.Rule;
import dev.oranc.testkit.LeakCheck;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import dev.oranc.testkit.TestLogs;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded soak of the server: {@value #CLIENTS} clients at once, for {@code oranc.soak.seconds}
 * (30 in the suite; {@code -Doranc.soak.seconds=300} for the long run, docs/RELIABILITY.md), mixing
 * narinfo hits and misses, HEADs and downloads of NARs, and PUTs of new files, against the real
 * registry behind a {@link FaultInjector} that fails the registry requests of the "flaky" keys at
 * random (500 and 503 for manifests, cut-off bodies and 503 for blobs).
 *
 * <p>Passes only if, at the end:
 *
 * <ul>
 *   <li>no 5xx was answered but for a flaky key, and those only as the mapped answers of the
 *       injected faults (502, 503, 504); no download of a healthy key broke, and no download of any
 *       key ended as a clean short 200; every other answer was the expected one, byte for byte;
 *   <li>every PUT was acknowledged with 200, and every file put reads back byte for byte;
 *   <li>no buffer leaked (Netty's detector at PARANOID, checked at the end), and the heap after a
 *       GC is back within 10 % of its baseline (measured after a warm-up, both times with the
 *       server's caches dropped, which are bounded by configuration anyway).
 * </ul>
 *
 * The figures go to the log and to {@code target/test-logs/SoakIT/soak-figures.txt}.
 */
class SoakIT {

  private static final Logger log = LoggerFactory.getLogger(SoakIT.class);

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  static final int CLIENTS = 64;
  private static final long SECONDS = Long.getLong("oranc.soak.seconds", 30);
  private static final long WARM_UP_SECONDS = Math.min(5, SECONDS);
  private static final int NARINFOS = 200;
  private static final int FLAKY_NARINFOS = 20;
  private static final int NARS = 12;
  private static final int FLAKY_NARS = 4;
  private static final String REPO = "soak/cache";

  private TestServer server;
  private String base;

  /** A file the soak reads: its key, bytes, and whether its registry requests may fail. */
  private record Seeded(String key, byte[] bytes, boolean flaky) {}

  private final List<Seeded> narinfos = new ArrayList<>();
  private final List<Seeded> nars = new ArrayList<>();

  /** A PUT acknowledged: its bytes are made again from the seed for the final check. */
  private record Put(String key, long seed, int size) {}

  private final ConcurrentLinkedQueue<Put> puts = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

  private void count(String what) {
    counts.computeIfAbsent(what, k -> new LongAdder()).increment();
  }

  private void violation(String what) {
    if (violations.size() < 50) {
      violations.add(what);
    }
  }

  @Test
  void sixtyFourClientsMixedTrafficAndRegistryFaultsLeaveNothingBehind() throws Exception {
    Registry r = registry.get();
    Random random = new Random(1);
    for (int i = 0; i < NARINFOS + FLAKY_NARINFOS; i++) {
      boolean flaky = i >= NARINFOS;
      String hash = String.format(Locale.ROOT, "%032d", i);
      byte[] text =
          ("StorePath: /nix/store/"
                  + hash
                  + "-soak-"
                  + i
                  + "\nURL: nar/"
                  + hash
                  + ".nar.zst\n"
                  + "Compression: zstd\nNarSize: "
                  + (1000 + i)
                  + "\n")
              .getBytes(StandardCharsets.UTF_8);
      narinfos.add(new Seeded((flaky ? "flaky" : "") + hash + ".narinfo", text, flaky));
    }
    for (int i = 0; i < NARS + FLAKY_NARS; i++) {
      boolean flaky = i >= NARS;
      byte[] nar = new byte[(64 << 10) + random.nextInt(2 << 20)];
      random.nextBytes(nar);
      nars.add(new Seeded("nar/" + (flaky ? "flaky" : "") + i + ".nar.zst", nar, flaky));
    }

    try (FaultInjector faults = new FaultInjector(r.address(), null, 7).keep(0)) {
      server =
          TestServer.start(
              b ->
                  b.maxStreamsPerClient(
                          0) // 64 clients on one address: the limit is LimitsTest's business
                      .layerCacheTtl(Duration.ofSeconds(2))
                      .layerCacheNegativeTtl(Duration.ofSeconds(1)),
              registry -> registry.maxRetryAfter(Duration.ofSeconds(1)));
      try {
        base = "/" + faults.address() + "/" + REPO;
        try (Connection c = new Connection()) {
          for (Seeded s : concat(narinfos, nars)) {
            RawHttp.Response put = c.send("PUT", s.key, s.bytes);
            assertEquals(200, put.status(), put.toString());
          }
        }
        StringBuilder flakyBlobs = new StringBuilder();
        for (Seeded s : concat(narinfos, nars)) {
          if (s.flaky) {
            flakyBlobs.append(flakyBlobs.length() == 0 ? "" : "|").append(sha256(s.bytes));
          }
        }
        faults.add(Rule.sometimes("GET", "/manifests/flaky", Fault.status(500), 0.3));
        faults.add(Rule.sometimes("GET", "/manifests/flaky", Fault.status(503), 0.2));
        faults.add(
            Rule.sometimes("GET", "/blobs/sha256:(" + flakyBlobs + ")", Fault.truncate(0.5), 0.3));
        faults.add(
            Rule.sometimes("GET", "/blobs/sha256:(" + flakyBlobs + ")", Fault.status(503), 0.2));

        run(WARM_UP_SECONDS, 1000);
        long warmUpPuts = puts.size();
        verifyPuts();
        puts.clear();
        counts.clear();
        assertEquals(List.of(), List.copyOf(violations), "during the warm-up");
        long heapBaseline = settledHeap();
        long directBaseline = PlatformDependent.usedDirectMemory();
        int injectedBefore = faults.injectedCount();
        long fiveHundredsBefore = serverFiveHundreds();

        long t0 = System.nanoTime();
        run(SECONDS, 2000);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        int injected = faults.injectedCount() - injectedBefore;
        long acknowledged = puts.size();
        verifyPuts();
        puts.clear();
        assertEquals(List.of(), List.copyOf(violations));

        long metrics5xx = serverFiveHundreds() - fiveHundredsBefore;
        server.awaitStreamsSettled();
        assertEquals(
            0, server.server.metrics().downloads().get(), "downloads still counted in flight");
        assertEquals(0, server.server.metrics().uploads().get(), "uploads still counted in flight");
        LeakCheck.verifyNoLeaks("the soak");
        long heapAfter = settledHeap();
        long directAfter = PlatformDependent.usedDirectMemory();

        Map<String, Long> sorted = new TreeMap<>();
        counts.forEach((k, v) -> sorted.put(k, v.sum()));
        long requests =
            sorted.entrySet().stream()
                .filter(e -> e.getKey().startsWith("op:"))
                .mapToLong(Map.Entry::getValue)
                .sum();
        String figures =
            String.format(
                Locale.ROOT,
                "soak: %d clients for %.0f s: %d requests (%.0f/s), %d PUTs acknowledged and read"
                    + " back; %d registry faults injected; 5xx answered %d (all for flaky keys,"
                    + " counted by the server: %d); heap after GC %d KiB (baseline %d KiB, %+.1f"
                    + " %%); Netty direct memory %d KiB (baseline %d KiB); warm-up %d s with %d"
                    + " PUTs; outcomes %s",
                CLIENTS,
                elapsed,
                requests,
                requests / elapsed,
                acknowledged,
                injected,
                sorted.getOrDefault("5xx", 0L),
                metrics5xx,
                heapAfter >> 10,
                heapBaseline >> 10,
                100.0 * (heapAfter - heapBaseline) / heapBaseline,
                directAfter >> 10,
                directBaseline >> 10,
                WARM_UP_SECONDS,
                warmUpPuts,
                sorted);
        log.info("{}", figures);
        Files.writeString(TestLogs.dir("SoakIT").resolve("soak-figures.txt"), figures + "\n");

        // Traffic, not a rate: every client got through at least once; how many requests a second
        // the machine allows is for the benchmarks (docs/BENCHMARKS.md), not for a test.
        assertTrue(requests >= CLIENTS && acknowledged > 0, "hardly any traffic: " + figures);
        assertTrue(injected > 0, "no fault was injected: " + figures);
        assertTrue(acknowledged > 0, figures);
        assertEquals(
            sorted.getOrDefault("5xx", 0L),
            metrics5xx,
            "the server answered 5xx the clients did not see as an injected fault's: " + figures);
        assertTrue(
            directAfter <= directBaseline + (32 << 20), "Netty's direct memory grew: " + figures);
        assertTrue(
            heapAfter <= heapBaseline * 1.10 + (1 << 20),
            "the heap did not come back to its baseline: " + figures);
      } finally {
        server.close();
      }
    }
  }

  /** Every 5xx the server has answered, by its own count. */
  private long serverFiveHundreds() {
    long n = 0;
    for (String method : List.of("GET", "HEAD", "PUT", "other")) {
      for (int status = 500; status < 600; status++) {
        n += server.server.metrics().requests(method, status);
      }
    }
    return n;
  }

  @SafeVarargs
  private static List<Seeded> concat(List<Seeded>... lists) {
    List<Seeded> all = new ArrayList<>();
    for (List<Seeded> l : lists) {
      all.addAll(l);
    }
    return all;
  }

  /** {@link #CLIENTS} threads, each a loop of random operations, for {@code seconds}. */
  private void run(long seconds, long seed) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<?>> all = new ArrayList<>();
    try {
      for (int i = 0; i < CLIENTS; i++) {
        int client = i;
        all.add(
            pool.submit(
                () -> {
                  Random random = new Random(seed * 1000 + client);
                  go.await();
                  int n = 0;
                  try (Connection c = new Connection()) {
                    while (System.nanoTime() < deadline) {
                      operation(c, random, client, n++);
                    }
                  }
                  return null;
                }));
      }
      go.countDown();
      for (Future<?> f : all) {
        f.get(seconds + 120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private void operation(Connection c, Random random, int client, int n) {
    int dice = random.nextInt(100);
    try {
      if (dice < 40) {
        Seeded s = narinfos.get(random.nextInt(narinfos.size()));
        count("op:narinfo-hit");
        expectFile("GET narinfo", s, c.send("GET", s.key, null));
      } else if (dice < 55) {
        count("op:narinfo-miss");
        RawHttp.Response r = c.send("GET", "missing-" + random.nextInt(1000) + ".narinfo", null);
        expectStatus("GET miss", r, 404);
      } else if (dice < 65) {
        Seeded s = nars.get(random.nextInt(nars.size()));
        count("op:nar-head");
        RawHttp.Response r = c.send("HEAD", s.key, null);
        if (s.flaky && mappedFault(r)) {
          return;
        }
        expectStatus("HEAD " + s.key, r, 200);
        if (r.status() == 200
            && !String.valueOf(s.bytes.length).equals(r.header("content-length"))) {
          violation("HEAD " + s.key + ": Content-Length " + r.header("content-length"));
        }
      } else if (dice < 85) {
        Seeded s = nars.get(random.nextInt(nars.size()));
        count("op:nar-get");
        RawHttp.Response r;
        try {
          r = c.send("GET", s.key, null);
        } catch (IOException broken) {
          // The relay aborts the connection when the registry's stream breaks: never a short 200.
          if (s.flaky) {
            count("aborted download (flaky)");
            return;
          }
          throw broken;
        }
        expectFile("GET NAR", s, r);
      } else {
        count("op:put");
        long seed = ((long) client << 32) | n;
        int size = 100 + random.nextInt(256 << 10);
        String key = "put/" + client + "-" + n;
        RawHttp.Response r = c.send("PUT", key, content(seed, size));
        if (r.status() == 200 && "<_/>".equals(r.text())) {
          puts.add(new Put(key, seed, size));
        } else {
          violation("PUT " + key + ": " + r);
        }
      }
    } catch (IOException e) {
      violation("an exchange failed: " + e);
    }
  }

  /**
   * One client's keep-alive connection, opened again after the server closed it (an aborted
   * download, an error answered with {@code Connection: close}). Closed at the end of a phase, so
   * nothing of the clients outlives it (the heap is measured between phases).
   */
  private final class Connection implements AutoCloseable {
    private RawHttp raw;

    RawHttp.Response send(String method, String key, byte[] body) throws IOException {
      if (raw == null) {
        raw = new RawHttp(server.port(), 60_000);
      }
      String head =
          method
              + " "
              + base
              + "/"
              + key
              + " HTTP/1.1\r\nHost: soak\r\n"
              + (body == null ? "" : "Content-Length: " + body.length + "\r\n")
              + "\r\n";
      try {
        raw.write(head);
        if (body != null) {
          raw.write(body);
        }
        RawHttp.Response r = raw.read(method.equals("HEAD"));
        if (r == null) {
          throw new IOException(
              method + " " + key + ": the server closed the connection without an answer");
        }
        if (r.closes()) {
          close();
        }
        return r;
      } catch (IOException e) {
        close();
        throw e;
      }
    }

    @Override
    public void close() throws IOException {
      if (raw != null) {
        raw.close();
        raw = null;
      }
    }
  }

  /** A 5xx that an injected fault maps to, with a one-line body naming the registry. */
  private boolean mappedFault(RawHttp.Response r) {
    int s = r.status();
    if (s == 502 || s == 503 || s == 504) {
      count("5xx");
      String body = r.text();
      if (!body.contains("127.0.0.1") || body.strip().lines().count() != 1) {
        violation("a fault's answer that does not name the registry in one line: " + body);
      }
      return true;
    }
    return false;
  }

  private void expectFile(String what, Seeded s, RawHttp.Response r) {
    if (s.flaky && mappedFault(r)) {
      return;
    }
    if (r.status() != 200) {
      violation(what + " " + s.key + ": " + r);
    } else if (!Arrays.equals(s.bytes, r.body())) {
      violation(
          what + " " + s.key + ": other bytes (" + r.body().length + " of " + s.bytes.length + ")");
    }
  }

  private void expectStatus(String what, RawHttp.Response r, int expected) {
    if (r.status() != expected) {
      violation(what + ": " + r);
    }
  }

  /** The bytes of a PUT, made again from its seed when it is read back. */
  private static byte[] content(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Every acknowledged PUT, read back through the server (caches dropped first), byte for byte. */
  private void verifyPuts() throws Exception {
    server.server.clearCaches();
    List<Put> all = new ArrayList<>(puts);
    int threads = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicLong bad = new AtomicLong();
    try {
      List<Future<?>> checks = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int first = t;
        checks.add(
            pool.submit(
                () -> {
                  try (Connection c = new Connection()) {
                    for (int i = first; i < all.size(); i += threads) {
                      Put p = all.get(i);
                      RawHttp.Response r = c.send("GET", p.key, null);
                      if (r.status() != 200 || !Arrays.equals(content(p.seed, p.size), r.body())) {
                        bad.incrementAndGet();
                        violation(
                            "PUT "
                                + p.key
                                + " acknowledged but reads back as "
                                + r.status()
                                + " with "
                                + r.body().length
                                + " bytes");
                      }
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : checks) {
        f.get(300, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(0, bad.get(), "acknowledged PUTs that do not read back: " + violations);
  }

  private long settledHeap() throws InterruptedException {
    server.server.clearCaches();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(100);
      used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  private static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
