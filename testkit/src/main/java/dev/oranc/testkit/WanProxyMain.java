package dev.oranc.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The WAN benchmarks' link ({@code bench/wan}): a process that puts a {@link CountingProxy} in
 * front of a registry (one given by address, or a {@link GhcrLike} it starts) and, on request, any
 * number of {@link LatencyProxy}s in front of that, so a shell script can make the registry 0, 40
 * or 80 ms away and count the requests that reached it.
 *
 * <pre>
 *   java -cp CLASSPATH dev.oranc.testkit.WanProxyMain (--upstream HOST:PORT | --ghcr)
 *       --address-file FILE [--rtt-ms N] [--rate BYTES_PER_SECOND] [--log-dir DIR]
 * </pre>
 *
 * <p>Once listening it writes FILE (atomically, so a script can wait for it to appear) with one
 * {@code NAME HOST:PORT} line each: {@code proxy} (a latency proxy of the given round trip and
 * rate), {@code counted} (the counting proxy, no delay), {@code control} (the control endpoint
 * below), and with {@code --ghcr} also {@code ghcr} (its front, uncounted) and {@code storage}.
 *
 * <p>Control endpoint, plain HTTP on loopback, GET only:
 *
 * <ul>
 *   <li>{@code /latency?rtt-ms=N&rate=R}: a new latency proxy in front of the counting proxy; the
 *       body is its {@code HOST:PORT}.
 *   <li>{@code /counts}: requests counted since the last reset, one {@code KEY VALUE} a line:
 *       {@code requests}, {@code METHOD KIND STATUS} for each combination seen (KIND is {@code
 *       upload}, {@code blob}, {@code manifest}, {@code tags} or {@code other}), {@code
 *       request_bytes}, {@code response_bytes}; with {@code --ghcr} also {@code storage_requests}
 *       and {@code token_requests_since_start} (those origins are not behind the proxies; the token
 *       count is not reset).
 *   <li>{@code /front?upstream=HOST:PORT}: a second counting proxy, in front of a client-facing
 *       server (oranc server), replacing the previous one; the body is its {@code HOST:PORT}. What
 *       it sees is in {@code /counts} as {@code front_requests} and {@code front_response_bytes}:
 *       the bytes the server sent its clients.
 *   <li>{@code /chain?rtt-ms=N}: {@code serial_round_trips D}, the longest chain of requests since
 *       the last reset in which each was sent after the one before it was answered (see {@link
 *       #serialRoundTrips}); N must be the round trip of the latency proxy the client used.
 *   <li>{@code /reset}: forgets what was counted (by both).
 *   <li>{@code /public?repository=NAME}: with {@code --ghcr}, makes the repository public.
 * </ul>
 *
 * <p>Why a process of its own and not a flag of oranc: the proxies are test stand-ins for a real
 * link (see {@link LatencyProxy} for what they copy and what not) and stay out of the product. It
 * runs until killed. Bad arguments get one line on standard error and exit status 2.
 */
public final class WanProxyMain {

  private WanProxyMain() {}

  /** The parsed command line. */
  record Arguments(
      InetSocketAddress upstream,
      boolean ghcr,
      Path addressFile,
      Duration roundTrip,
      long rate,
      Path logDir) {
    Arguments {
      if ((upstream == null) == !ghcr) {
        throw new IllegalArgumentException("give exactly one of --upstream HOST:PORT and --ghcr");
      }
      if (addressFile == null) {
        throw new IllegalArgumentException("--address-file FILE is required");
      }
      if (roundTrip.isNegative() || rate < 0) {
        throw new IllegalArgumentException("--rtt-ms and --rate must not be negative");
      }
    }

    static Arguments parse(String[] args) {
      InetSocketAddress upstream = null;
      boolean ghcr = false;
      Path addressFile = null;
      Path logDir = null;
      Duration roundTrip = Duration.ZERO;
      long rate = 0;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--ghcr" -> ghcr = true;
          case "--upstream" -> upstream = hostPort(value(args, ++i, a));
          case "--address-file" -> addressFile = Path.of(value(args, ++i, a));
          case "--log-dir" -> logDir = Path.of(value(args, ++i, a));
          case "--rtt-ms" -> roundTrip = Duration.ofMillis(number(value(args, ++i, a), a));
          case "--rate" -> rate = number(value(args, ++i, a), a);
          default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
        }
      }
      return new Arguments(upstream, ghcr, addressFile, roundTrip, rate, logDir);
    }

    private static String value(String[] args, int i, String flag) {
      if (i >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      return args[i];
    }

    private static long number(String s, String flag) {
      try {
        return Long.parseLong(s);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " wants a whole number, not '" + s + "'");
      }
    }

    static InetSocketAddress hostPort(String s) {
      int colon = s.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--upstream wants HOST:PORT, not '" + s + "'");
      }
      return new InetSocketAddress(
          s.substring(0, colon), (int) number(s.substring(colon + 1), "--upstream"));
    }
  }

  public static void main(String[] args) throws Exception {
    Arguments arguments;
    try {
      arguments = Arguments.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(
          "wan-proxy: "
              + e.getMessage()
              + " (usage: --upstream HOST:PORT | --ghcr, --address-file FILE [--rtt-ms N] [--rate"
              + " B/s])");
      System.exit(2);
      return;
    }
    if (arguments.logDir() != null) {
      System.setProperty("oranc.test.logdir", arguments.logDir().toString());
    }
    List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    GhcrLike ghcr = null;
    InetSocketAddress upstream = arguments.upstream();
    if (arguments.ghcr()) {
      ghcr = GhcrLike.start(GhcrLike.Options.DEFAULT.withName("wan-bench-ghcr"));
      open.add(ghcr);
      upstream = new InetSocketAddress("127.0.0.1", ghcr.baseUri().getPort());
    }
    CountingProxy counting = new CountingProxy(upstream);
    open.add(counting);
    InetSocketAddress counted = new InetSocketAddress("127.0.0.1", counting.port());
    LatencyProxy first = new LatencyProxy(counted, arguments.roundTrip(), arguments.rate());
    open.add(first);

    HttpServer control =
        HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 16);
    GhcrLike g = ghcr;
    control.createContext(
        "/latency",
        ex -> {
          Map<String, String> q = query(ex.getRequestURI());
          try {
            LatencyProxy p =
                new LatencyProxy(
                    counted,
                    Duration.ofMillis(Long.parseLong(q.getOrDefault("rtt-ms", "0"))),
                    Long.parseLong(q.getOrDefault("rate", "0")));
            open.add(p);
            answer(ex, 200, p.address() + "\n");
          } catch (IllegalArgumentException e) {
            answer(
                ex,
                400,
                "rtt-ms and rate must be whole numbers, not negative: " + e.getMessage() + "\n");
          }
        });
    AtomicReference<CountingProxy> front = new AtomicReference<>();
    control.createContext(
        "/front",
        ex -> {
          String upstreamOfFront = query(ex.getRequestURI()).get("upstream");
          try {
            CountingProxy p =
                new CountingProxy(
                    Arguments.hostPort(upstreamOfFront == null ? "" : upstreamOfFront));
            open.add(p);
            CountingProxy old = front.getAndSet(p);
            if (old != null) {
              old.close();
            }
            answer(ex, 200, "127.0.0.1:" + p.port() + "\n");
          } catch (IllegalArgumentException e) {
            answer(ex, 400, e.getMessage() + "\n");
          }
        });
    control.createContext(
        "/counts",
        ex -> {
          StringBuilder body = new StringBuilder(counts(counting.requests(), g));
          CountingProxy f = front.get();
          if (f != null) {
            List<ProxiedRequest> seen = f.requests();
            body.append("front_requests ").append(seen.size()).append('\n');
            body.append("front_response_bytes ")
                .append(seen.stream().mapToLong(ProxiedRequest::responseBodyBytes).sum())
                .append('\n');
          }
          answer(ex, 200, body.toString());
        });
    control.createContext(
        "/chain",
        ex -> {
          String rtt = query(ex.getRequestURI()).getOrDefault("rtt-ms", "");
          long millis;
          try {
            millis = Long.parseLong(rtt);
          } catch (NumberFormatException e) {
            millis = 0;
          }
          if (millis <= 0) {
            answer(
                ex,
                400,
                "needs ?rtt-ms=N, N > 0: at 0 ms the proxy cannot tell what waited on what\n");
            return;
          }
          answer(
              ex,
              200,
              "serial_round_trips "
                  + serialRoundTrips(counting.timings(), Duration.ofMillis(millis))
                  + "\n");
        });
    control.createContext(
        "/reset",
        ex -> {
          counting.reset();
          CountingProxy f = front.get();
          if (f != null) {
            f.reset();
          }
          if (g != null) {
            g.resetCounters();
          }
          answer(ex, 200, "reset\n");
        });
    control.createContext(
        "/public",
        ex -> {
          String repository = query(ex.getRequestURI()).get("repository");
          if (g == null || repository == null || repository.isEmpty()) {
            answer(ex, 400, "needs --ghcr and ?repository=NAME\n");
            return;
          }
          g.makePublic(repository);
          answer(ex, 200, "public " + repository + "\n");
        });
    control.start();

    StringBuilder file = new StringBuilder();
    file.append("proxy ").append(first.address()).append('\n');
    file.append("counted 127.0.0.1:").append(counting.port()).append('\n');
    file.append("control 127.0.0.1:").append(control.getAddress().getPort()).append('\n');
    if (ghcr != null) {
      file.append("ghcr ").append(ghcr.address()).append('\n');
      file.append("storage ").append(ghcr.storageAddress()).append('\n');
    }
    Path target = arguments.addressFile().toAbsolutePath();
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.writeString(tmp, file.toString(), StandardCharsets.UTF_8);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  control.stop(0);
                  for (AutoCloseable c : open) {
                    try {
                      c.close();
                    } catch (Exception ignored) {
                      // stopping anyway
                    }
                  }
                  stopped.countDown();
                },
                "wan-proxy-stop"));
    stopped.await();
  }

  /** The {@code /counts} body: see the class comment. */
  static String counts(List<ProxiedRequest> requests, GhcrLike ghcr) {
    Map<String, Long> lines = new TreeMap<>();
    long requestBytes = 0;
    long responseBytes = 0;
    for (ProxiedRequest r : requests) {
      lines.merge(r.method() + " " + kind(r.path()) + " " + r.status(), 1L, Long::sum);
      requestBytes += r.bodyBytes();
      responseBytes += r.responseBodyBytes();
    }
    StringBuilder out = new StringBuilder();
    out.append("requests ").append(requests.size()).append('\n');
    lines.forEach((k, v) -> out.append(k).append(' ').append(v).append('\n'));
    out.append("request_bytes ").append(requestBytes).append('\n');
    out.append("response_bytes ").append(responseBytes).append('\n');
    if (ghcr != null) {
      List<GhcrLike.Served> served = ghcr.served();
      out.append("storage_requests ")
          .append(served.stream().filter(s -> s.origin().equals("storage")).count())
          .append('\n');
      out.append("token_requests_since_start ")
          .append(ghcr.registry().tokenRequests())
          .append('\n');
    }
    return out.toString();
  }

  /**
   * The round trips a client waited on in series, from the counting proxy's timings alone: a
   * request that reached the counting proxy at least one {@code roundTrip} after another's response
   * left it may have been sent after the client had that response (it cannot have been otherwise),
   * so its depth is one more than the deepest such response; the answer is the largest depth.
   *
   * <p>Why timing and not the client's own account: push and Nix do not report their critical path.
   * What it is: an upper bound of the true dependency chain (a request sent after an unrelated
   * response counts as waiting on it), exact for a client with one request in flight at a time,
   * close for one path at a time ({@code push -p 1}, Nix's {@code copy --to}); for a pipeline of
   * many paths it measures rounds of the whole run, not one path's chain.
   */
  static long serialRoundTrips(List<CountingProxy.Timing> timings, Duration roundTrip) {
    long rtt = roundTrip.toNanos();
    List<CountingProxy.Timing> byArrival =
        timings.stream()
            .sorted(Comparator.comparingLong(CountingProxy.Timing::arrivedNanos))
            .toList();
    Map<CountingProxy.Timing, Long> depth = new IdentityHashMap<>();
    List<CountingProxy.Timing> byAnswer =
        byArrival.stream()
            .filter(t -> t.answeredNanos() != 0)
            .sorted(Comparator.comparingLong(CountingProxy.Timing::answeredNanos))
            .toList();
    int next = 0;
    long deepestAnswered = 0;
    long deepest = 0;
    for (CountingProxy.Timing t : byArrival) {
      // Every response that left at least a round trip before this request arrived: it arrived
      // before its response left, so it came earlier in this loop and has its depth.
      while (next < byAnswer.size()
          && byAnswer.get(next).answeredNanos() + rtt <= t.arrivedNanos()) {
        deepestAnswered = Math.max(deepestAnswered, depth.getOrDefault(byAnswer.get(next), 0L));
        next++;
      }
      long d = deepestAnswered + 1;
      depth.put(t, d);
      deepest = Math.max(deepest, d);
    }
    return deepest;
  }

  static String kind(String path) {
    if (path.contains("/blobs/uploads/")) {
      return "upload";
    } else if (path.contains("/blobs/")) {
      return "blob";
    } else if (path.contains("/manifests/")) {
      return "manifest";
    } else if (path.endsWith("/tags/list")) {
      return "tags";
    }
    return "other";
  }

  private static Map<String, String> query(URI uri) {
    Map<String, String> q = new TreeMap<>();
    String raw = uri.getRawQuery();
    if (raw == null) {
      return q;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        q.put(
            pair.substring(0, eq),
            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return q;
  }

  private static void answer(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }
}
