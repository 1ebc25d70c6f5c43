package dev.oranc.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A registry that completes the OCI "single POST" upload ({@code POST /v2/<name>/blobs/uploads/
 * ?digest=<d>} with the body, answered {@code 201}), as the distribution spec allows and some
 * registries do, in front of a real one (the CNCF registry, which answers such a POST with a
 * session and ignores the body). Everything else is relayed as it is, upload locations rewritten to
 * point here; a single POST becomes the upstream's {@code POST} and {@code PUT ?digest=}, so the
 * blob is stored by the real registry and checked by it.
 *
 * <p>It records the requests its clients make ({@link #requests()}), so that a test can count what
 * a client costs a registry that can take a small blob in one request. Loopback only.
 */
public final class SinglePostFront implements AutoCloseable {

  /**
   * One request a client made: method, target, the status it got, and when (on one counter shared
   * by all requests) it arrived and its answer left.
   */
  public record Request(String method, String uri, int status, long arrived, long answered) {
    public boolean matches(String method, String uriRegex) {
      return this.method.equals(method) && Pattern.compile(uriRegex).matcher(uri).find();
    }
  }

  /**
   * The longest chain of requests each of which arrived after the answer to the one before it left:
   * an upper bound of the round trips a client waited on one after another (requests sent at once
   * count as one, unless one's answer happened to leave before another arrived; a delay on every
   * answer makes that unlikely).
   */
  public static int longestChain(List<Request> requests) {
    List<Request> byArrival = new ArrayList<>(requests);
    byArrival.sort(Comparator.comparingLong(Request::arrived));
    int[] depth = new int[byArrival.size()];
    int longest = 0;
    for (int i = 0; i < depth.length; i++) {
      int before = 0;
      for (int j = 0; j < i; j++) {
        if (byArrival.get(j).answered() < byArrival.get(i).arrived()) {
          before = Math.max(before, depth[j]);
        }
      }
      depth[i] = before + 1;
      longest = Math.max(longest, depth[i]);
    }
    return longest;
  }

  private static final Pattern SINGLE_POST =
      Pattern.compile("^(/v2/.+/blobs/uploads/)\\?(?:.*&)?digest=([^&]+)");
  private static final Set<String> HOP_BY_HOP =
      Set.of(
          "host",
          "content-length",
          "connection",
          "transfer-encoding",
          "expect",
          "upgrade",
          "keep-alive",
          "te",
          "trailer",
          "proxy-connection");

  private final String upstream;
  private final boolean singlePost;
  private final long answerDelayMillis;
  private final AtomicLong clock = new AtomicLong();
  private final HttpServer server;
  private final ExecutorService executor =
      Executors.newFixedThreadPool(
          32,
          r -> {
            Thread t = new Thread(r, "single-post-front");
            t.setDaemon(true);
            return t;
          });
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final List<Request> requests = new ArrayList<>();

  /**
   * @param upstreamAddress the real registry's {@code host:port} (plain HTTP, loopback)
   */
  public SinglePostFront(String upstreamAddress) {
    this(upstreamAddress, true, 0);
  }

  /**
   * @param singlePost complete single-POST uploads; false: relay them too (the upstream answers)
   * @param answerDelayMillis hold every answer this long (a round trip's worth of latency)
   */
  public SinglePostFront(String upstreamAddress, boolean singlePost, long answerDelayMillis) {
    this.upstream = upstreamAddress;
    this.singlePost = singlePost;
    this.answerDelayMillis = answerDelayMillis;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  /** {@code 127.0.0.1:PORT}. */
  public String address() {
    return server.getAddress().getAddress().getHostAddress() + ":" + server.getAddress().getPort();
  }

  /** What clients asked so far, in the order the answers went out. */
  public synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  public synchronized void reset() {
    requests.clear();
  }

  private synchronized void record(Request r) {
    requests.add(r);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      long arrived = clock.incrementAndGet();
      String method = exchange.getRequestMethod();
      String uri =
          exchange.getRequestURI().getRawPath()
              + (exchange.getRequestURI().getRawQuery() == null
                  ? ""
                  : "?" + exchange.getRequestURI().getRawQuery());
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      Matcher single = SINGLE_POST.matcher(uri);
      HttpResponse<byte[]> answer;
      if (singlePost && method.equals("POST") && single.find() && body.length > 0) {
        answer = singlePost(exchange, single.group(1), single.group(2), body);
      } else {
        answer = relay(exchange, method, uri, body);
      }
      for (Map.Entry<String, List<String>> h : answer.headers().map().entrySet()) {
        String name = h.getKey();
        if (HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT)) || name.startsWith(":")) {
          continue;
        }
        for (String value : h.getValue()) {
          exchange.getResponseHeaders().add(name, rewrite(value));
        }
      }
      if (answerDelayMillis > 0) {
        Thread.sleep(answerDelayMillis);
      }
      record(new Request(method, uri, answer.statusCode(), arrived, clock.incrementAndGet()));
      boolean empty = method.equals("HEAD") || answer.body().length == 0;
      exchange.sendResponseHeaders(answer.statusCode(), empty ? -1 : answer.body().length);
      if (!empty) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(answer.body());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The upstream's session, then its PUT with the body; a 201 naming the blob when it took it. */
  private HttpResponse<byte[]> singlePost(
      HttpExchange exchange, String uploads, String digest, byte[] body)
      throws IOException, InterruptedException {
    HttpResponse<byte[]> opened = relay(exchange, "POST", uploads, new byte[0]);
    String location = opened.headers().firstValue("Location").orElse(null);
    if (opened.statusCode() != 202 || location == null) {
      return opened;
    }
    URI session = URI.create("http://" + upstream + uploads).resolve(location);
    String target =
        session.getRawPath()
            + "?"
            + (session.getRawQuery() == null ? "" : session.getRawQuery() + "&")
            + "digest="
            + digest;
    return relay(exchange, "PUT", target, body);
  }

  private HttpResponse<byte[]> relay(HttpExchange exchange, String method, String uri, byte[] body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://" + upstream + uri))
            .method(
                method,
                body.length == 0
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    for (Map.Entry<String, List<String>> h : exchange.getRequestHeaders().entrySet()) {
      if (HOP_BY_HOP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
        continue;
      }
      for (String value : h.getValue()) {
        b.header(h.getKey(), value);
      }
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** An upstream URL in a header (an upload location) made to point here. */
  private String rewrite(String value) {
    return value.replace("http://" + upstream, "http://" + address());
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
