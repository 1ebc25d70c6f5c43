package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LatencyProxy;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The harness of issue 16 point 2: {@code nix copy --to http://<oranc server>/…?compression=zstd}
 * of a closure of uniquely named paths (real Nix 2.8) against the real registry behind a {@link
 * LatencyProxy} (round trips of 0 and 40 ms) and its counting proxy, timed, with the registry
 * requests per path counted; {@code nix copy --to file://} as the local bound. Variants, each
 * copying to a fresh repository, interleaved within a repetition so a noisy machine hits them
 * alike:
 *
 * <ul>
 *   <li>{@code server}: this tree's server, in process (defaults: early NAR answers on);
 *   <li>{@code server-no-early}: the same with {@code --max-pending-publishes 0};
 *   <li>{@code server-no-ahead}: the same with {@code --upload-sessions-ahead 0};
 *   <li>{@code base}: an older build's {@code oranc server} as a process, when {@code
 *       -Dnixcopy.base=<oranc.jar>} names one (e.g. /work/wt-base/cli/target/oranc.jar);
 *   <li>{@code push-p4}: that build's {@code oranc push -p 4} of the same closure (JVM start
 *       included), the goal's yardstick.
 * </ul>
 *
 * <p>{@code -Dnixcopy.paths=N} (default 8), {@code -Dnixcopy.reps=R} (default 1), {@code
 * -Dnixcopy.rtts=40} (default): in the suite a short check that every variant works; the figures in
 * BENCHMARKS.md come from {@code -Dnixcopy.paths=40 -Dnixcopy.reps=3 -Dnixcopy.rtts=0,40}. Each
 * copy must succeed and substitute back; the new server must stay within the per-path request bound
 * of {@link NixCopyFlowTest}. Figures go to the log and to {@code target/nixcopy-latency.txt};
 * nothing here asserts on time. Every store path built is deleted.
 */
class NixCopyLatencyIT {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  @Test
  void nixCopyThroughTheServerAtRoundTrips() throws Exception {
    int paths = Integer.getInteger("nixcopy.paths", 8);
    int reps = Integer.getInteger("nixcopy.reps", 1);
    List<Integer> rtts =
        Arrays.stream(System.getProperty("nixcopy.rtts", "40").split(","))
            .map(String::trim)
            .map(Integer::parseInt)
            .toList();
    String baseJar = System.getProperty("nixcopy.base", "");
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String run = UUID.randomUUID().toString().substring(0, 6);
    Map<String, List<Double>> seconds = new TreeMap<>();
    Map<String, List<Double>> perPath = new TreeMap<>();
    Path temp = Files.createTempDirectory("oranc-nixcopy");
    try (Nix nix = new Nix();
        TestServer server = TestServer.start();
        TestServer noEarly = TestServer.start(b -> b.maxPendingPublishes(0));
        TestServer noAhead = TestServer.start(b -> b.uploadSessionsAhead(0));
        ExternalServer base = baseJar.isEmpty() ? null : ExternalServer.start(baseJar, temp)) {
      // A chain: each path refers to the two before it, so the closure of the last is all of them.
      List<String> built = new ArrayList<>();
      String filler = "x".repeat(4096);
      for (int i = 0; i < paths; i++) {
        List<String> refs = built.subList(Math.max(0, built.size() - 2), built.size());
        built.add(
            nix.build(
                    "oranc-nixcopy-" + run + "-" + i,
                    i + " " + run + " " + filler,
                    List.copyOf(refs))
                .path());
      }
      String top = built.get(built.size() - 1);
      Nix.KeyPair signingKey = Nix.generateKey("oranc-nixcopy-" + run);
      InetSocketAddress counted = parse(registry.proxyAddress());
      for (int rtt : rtts) {
        try (LatencyProxy latency = new LatencyProxy(counted, Duration.ofMillis(rtt), 0)) {
          String registryName = "127.0.0.1:" + latency.port();
          for (int rep = 1; rep <= reps; rep++) {
            if (rtt == 0) {
              Path dir = temp.resolve("file-" + rep);
              long t0 = System.nanoTime();
              nix("copy", "--to", "file://" + dir + "?compression=zstd", top);
              seconds
                  .computeIfAbsent("file rtt=0", k -> new ArrayList<>())
                  .add((System.nanoTime() - t0) / 1e9);
            }
            List<Map.Entry<String, Integer>> variants = new ArrayList<>();
            variants.add(Map.entry("server", server.port()));
            variants.add(Map.entry("server-no-ahead", noAhead.port()));
            variants.add(Map.entry("server-no-early", noEarly.port()));
            if (base != null) {
              variants.add(Map.entry("base", base.port));
            }
            if (base != null) {
              // oranc push of the same closure (the base build's; a JVM start included), -p 4.
              String repo = "nixcopy/" + run + "-push-" + rtt + "-" + rep;
              long t0 = System.nanoTime();
              ProcessBuilder pb =
                  new ProcessBuilder(
                          "java",
                          "-jar",
                          baseJar,
                          "push",
                          "--no-ssl",
                          "--registry",
                          registryName,
                          "--repository",
                          repo,
                          "-p",
                          "4")
                      .redirectErrorStream(true)
                      .redirectOutput(temp.resolve("push.log").toFile());
              pb.environment().put("ORANC_SIGNING_KEY", signingKey.secret());
              Process push = pb.start();
              push.getOutputStream().write((top + "\n").getBytes(StandardCharsets.UTF_8));
              push.getOutputStream().close();
              assertEquals(
                  0,
                  push.waitFor(),
                  "oranc push failed: " + Files.readString(temp.resolve("push.log")));
              seconds
                  .computeIfAbsent("push-p4 rtt=" + rtt, k -> new ArrayList<>())
                  .add((System.nanoTime() - t0) / 1e9);
            }
            for (Map.Entry<String, Integer> v : variants) {
              String repo = "nixcopy/" + run + "-" + v.getKey() + "-" + rtt + "-" + rep;
              String url = "http://127.0.0.1:" + v.getValue() + "/" + registryName + "/" + repo;
              registry.resetCounters();
              long t0 = System.nanoTime();
              nix("copy", "--to", url + "?compression=zstd", top);
              double s = (System.nanoTime() - t0) / 1e9;
              List<ProxiedRequest> requests = registry.proxiedRequests();
              String label = v.getKey() + " rtt=" + rtt;
              seconds.computeIfAbsent(label, k -> new ArrayList<>()).add(s);
              perPath
                  .computeIfAbsent(label, k -> new ArrayList<>())
                  .add(requests.size() / (double) paths);
              if (rep == 1) {
                System.out.println(
                    label
                        + " requests by kind: "
                        + requests.stream()
                            .collect(
                                Collectors.groupingBy(
                                    r -> r.method() + " " + kind(r.uri()),
                                    TreeMap::new,
                                    Collectors.counting())));
              }
              if (v.getKey().equals("server")) {
                // + the upload sessions opened ahead and left unused at the end (ServerConfig's 4).
                assertTrue(
                    requests.size()
                        <= NixCopyFlowTest.MAX_REQUESTS_PER_PATH * paths
                            + 8
                            + ServerConfig.builder().build().uploadSessionsAhead(),
                    label + ": " + requests.size() + " registry requests for " + paths + " paths");
                if (rep == 1) {
                  Path fresh = temp.resolve("store-" + rtt);
                  nix("copy", "--from", url, "--to", fresh.toString(), "--no-check-sigs", top);
                  assertEquals(
                      Files.readString(Path.of(top)), Files.readString(Path.of(fresh + top)));
                }
              }
            }
          }
        }
      }
    } finally {
      new ProcessBuilder("chmod", "-R", "u+w", temp.toString()).start().waitFor();
      new ProcessBuilder("rm", "-rf", temp.toString()).start().waitFor();
    }
    StringBuilder report =
        new StringBuilder("nix copy of " + paths + " paths, medians of " + reps + "\n");
    for (String label : seconds.keySet()) {
      report.append(
          String.format(
              Locale.ROOT,
              "%-24s %7.2f s  %s%n",
              label,
              median(seconds.get(label)),
              perPath.containsKey(label)
                  ? String.format(
                      Locale.ROOT, "%5.2f registry requests/path", median(perPath.get(label)))
                  : ""));
    }
    System.out.print(report);
    Files.writeString(Path.of("target", "nixcopy-latency.txt"), report);
  }

  private static String kind(String uri) {
    if (uri.contains("/manifests/")) {
      return "manifest";
    }
    if (uri.contains("/blobs/uploads/")) {
      return "upload";
    }
    if (uri.contains("/blobs/")) {
      return "blob";
    }
    if (uri.contains("/tags/")) {
      return "tags";
    }
    return uri;
  }

  private static String nix(String... argv) {
    List<String> command = new ArrayList<>(List.of("nix"));
    command.addAll(Arrays.asList(argv));
    return Nix.exec(null, Duration.ofMinutes(10), command).requireSuccess();
  }

  private static double median(List<Double> xs) {
    List<Double> s = xs.stream().sorted().toList();
    return s.get(s.size() / 2);
  }

  private static InetSocketAddress parse(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    return new InetSocketAddress(
        hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
  }

  /** An {@code oranc server} of another build, as a process on a loopback port. */
  private static final class ExternalServer implements AutoCloseable {
    final Process process;
    final int port;

    private ExternalServer(Process process, int port) {
      this.process = process;
      this.port = port;
    }

    static ExternalServer start(String jar, Path temp) throws IOException, InterruptedException {
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = s.getLocalPort();
      }
      Process p =
          new ProcessBuilder(
                  "java",
                  "-jar",
                  jar,
                  "server",
                  "--listen",
                  "127.0.0.1:" + port,
                  "--no-ssl",
                  "--max-retry",
                  "2")
              .redirectErrorStream(true)
              .redirectOutput(temp.resolve("base-server.log").toFile())
              .start();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline) {
        try (Socket ignored = new Socket("127.0.0.1", port)) {
          return new ExternalServer(p, port);
        } catch (IOException notYet) {
          if (!p.isAlive()) {
            break;
          }
          Thread.sleep(100);
        }
      }
      p.destroy();
      throw new AssertionError(
          "the base server did not start; see " + temp.resolve("base-server.log"));
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor();
    }
  }
}
