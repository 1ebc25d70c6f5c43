package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LatencyProxy;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryFlavour;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, not a test (its name keeps it out of the default runs; {@code bench/prefetch} runs
 * it): real Nix 2.8 substitutes a closure ({@code bench.paths}, default 30 paths: a top path, 9
 * middle ones, 20 leaves, each NAR over the small-blob bound) through {@code oranc server} from a
 * real registry behind a {@link LatencyProxy} ({@code bench.rttMillis}, default 40 ms per round
 * trip): once from a fresh server (cold) and once more from the same server (warm), with and
 * without prefetch, {@code bench.reps} times (default 3), the two modes interleaved so that the
 * machine's load drifts over both alike. Each substitution goes into a fresh store with a fresh Nix
 * narinfo disk cache ({@code XDG_CACHE_HOME}), so Nix asks the server for everything.
 *
 * <p>Written to {@code bench.out} (default {@code target/prefetch.tsv}): one line per substitution
 * with its wall time, the registry requests it caused, the CPU seconds of this JVM (the server, and
 * the latency proxy's threads) and of the registry, and how busy the whole machine was (from {@code
 * /proc/stat}), since the machine is shared.
 */
class PrefetchSubstitutionBench {

  @Test
  void coldAndWarmSubstitutionWithAndWithoutPrefetch() throws Exception {
    int paths = Integer.getInteger("bench.paths", 30);
    int reps = Integer.getInteger("bench.reps", 3);
    Duration rtt = Duration.ofMillis(Integer.getInteger("bench.rttMillis", 40));
    Path out = Path.of(System.getProperty("bench.out", "target/prefetch.tsv"));
    Path temp = Files.createTempDirectory("oranc-prefetch-bench");
    List<String> lines = new ArrayList<>();
    lines.add(
        "rep\tmode\tserver\twall_s\tregistry_requests\tjvm_cpu_s\tregistry_cpu_s\tmachine_busy"
            + "\tloadavg");
    try (Registry registry = Registry.start(RegistryFlavour.ANONYMOUS);
        Nix nix = new Nix();
        LatencyProxy wan =
            new LatencyProxy(
                new InetSocketAddress("127.0.0.1", registry.proxyUri().getPort()), rtt, 0)) {
      String top = closure(nix, paths);
      // Pushed straight to the registry (its own address); read back through the slow link (the
      // proxy's address: another registry name for oranc, the same repository underneath).
      try (TestServer pusher = TestServer.start()) {
        String cache =
            "http://127.0.0.1:" + pusher.port() + "/" + registry.address() + "/bench/prefetch";
        Nix.exec(null, Duration.ofMinutes(10), List.of("nix", "copy", "--to", cache, top))
            .requireSuccess();
      }
      for (int rep = 1; rep <= reps; rep++) {
        for (boolean prefetch : new boolean[] {true, false}) {
          try (TestServer s = TestServer.start(b -> b.prefetchConcurrency(prefetch ? 16 : 0))) {
            String cache = "http://127.0.0.1:" + s.port() + "/" + wan.address() + "/bench/prefetch";
            for (String state : new String[] {"cold", "warm"}) {
              registry.resetCounters();
              long cpu0 = jvmCpuNanos();
              long reg0 = processCpuTicks(registry.pid());
              long[] stat0 = machineTicks();
              String load = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
              long t0 = System.nanoTime();
              substitute(
                  cache,
                  temp.resolve("store-" + rep + "-" + prefetch + "-" + state),
                  temp.resolve("xdg-" + rep + "-" + prefetch + "-" + state),
                  top);
              long wall = System.nanoTime() - t0;
              if (prefetch) {
                assertTrue(s.server.prefetcher().awaitIdle(Duration.ofMinutes(1)));
              }
              long[] stat1 = machineTicks();
              double busy =
                  stat1[1] == stat0[1]
                      ? 0
                      : 1.0 - (double) (stat1[0] - stat0[0]) / (stat1[1] - stat0[1]);
              double hz = 100.0;
              lines.add(
                  String.join(
                      "\t",
                      String.valueOf(rep),
                      prefetch ? "prefetch" : "no-prefetch",
                      state,
                      String.format("%.3f", wall / 1e9),
                      String.valueOf(registry.proxiedRequests().size()),
                      String.format("%.3f", (jvmCpuNanos() - cpu0) / 1e9),
                      String.format("%.3f", (processCpuTicks(registry.pid()) - reg0) / hz),
                      String.format("%.2f", busy),
                      load));
              System.out.println(lines.get(lines.size() - 1));
            }
          }
        }
      }
    } finally {
      new ProcessBuilder("chmod", "-R", "u+w", temp.toString()).start().waitFor();
      new ProcessBuilder("rm", "-rf", temp.toString()).start().waitFor();
    }
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.write(out, lines, StandardCharsets.UTF_8);
  }

  /**
   * A closure of {@code paths} paths: a top path, a ninth of them in the middle, the rest leaves.
   */
  private static String closure(Nix nix, int paths) {
    Random random = new Random(paths);
    int middle = Math.max(1, (paths - 1) / 3);
    int leaves = paths - 1 - middle;
    List<String> leafPaths = new ArrayList<>();
    for (int i = 0; i < leaves; i++) {
      leafPaths.add(nix.build("prefetch-leaf" + i, filler(random)).path());
    }
    List<String> middlePaths = new ArrayList<>();
    for (int i = 0; i < middle; i++) {
      List<String> refs = new ArrayList<>();
      for (int j = 0; j < leaves; j++) {
        if (j % middle == i || random.nextInt(4) == 0) {
          refs.add(leafPaths.get(j));
        }
      }
      if (i > 0) {
        refs.add(middlePaths.get(i - 1));
      }
      middlePaths.add(nix.build("prefetch-mid" + i, filler(random), refs).path());
    }
    return nix.build("prefetch-top", filler(random), middlePaths).path();
  }

  /** About 96 KiB of text that compresses to more than the 64 KiB small-blob bound. */
  private static String filler(Random random) {
    byte[] bytes = new byte[72 * 1024];
    random.nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  private static void substitute(String cache, Path store, Path xdg, String top) throws Exception {
    Files.createDirectories(xdg);
    Nix.exec(
            Map.of("XDG_CACHE_HOME", xdg.toString()),
            null,
            Duration.ofMinutes(10),
            List.of(
                "nix", "copy", "--from", cache, "--to", store.toString(), "--no-check-sigs", top))
        .requireSuccess();
  }

  private static long jvmCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** utime + stime of a process, in clock ticks (100 a second on Linux). */
  private static long processCpuTicks(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** The machine's idle (with iowait) and total ticks. */
  private static long[] machineTicks() throws Exception {
    String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
    long total = 0;
    for (int i = 1; i < f.length; i++) {
      total += Long.parseLong(f[i]);
    }
    return new long[] {Long.parseLong(f[4]) + Long.parseLong(f[5]), total};
  }
}
