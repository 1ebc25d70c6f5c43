package dev.oranc.testkit;

import com.fasterxml.jackson.jr.ob.JSON;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stand-in for ghcr.io: a front on a loopback port of its own that answers as ghcr.io does where
 * ghcr.io differs from the CNCF registry, and otherwise relays, streaming, to a real {@link
 * RegistryFlavour#TOKEN} {@link Registry} behind it. Three origins, as on ghcr.io: the registry
 * ({@link #address()}), the token service (the {@code realm} in its challenges, its own port) and
 * the blob storage ({@link #storageAddress()}, its own port).
 *
 * <p><b>What it copies from ghcr.io, and where each fact comes from.</b>
 *
 * <ul>
 *   <li><b>Private until made public.</b> A repository is private until {@link #makePublic}: the
 *       token service refuses an anonymous token for it with 401 (ghcr.io does: {@code curl
 *       'https://ghcr.io/token?scope=repository:…:pull&service=ghcr.io'} answers 401 for a private
 *       package and 200 for a public one, openai/tunnel-client#75; GitHub's docs: a new container
 *       package is private). Credentials are checked by the token service for push ({@link
 *       Registry#USER} may push, {@link Registry#READER} only pull), and the real registry checks
 *       the token.
 *   <li><b>Blobs come from storage.</b> {@code GET} and {@code HEAD} of a blob the caller may read
 *       are answered {@code 307} to the storage origin with a presigned-style URL ({@code
 *       ?X-Expires=EPOCH&X-Signature=HMAC}) that expires after {@link Options#urlLifetime()} (300 s
 *       by default). The storage refuses a request carrying {@code Authorization} (400, as S3 and
 *       Azure Blob do for a presigned URL: S3 {@code InvalidArgument} "Only one auth mechanism
 *       allowed", Azure {@code InvalidAuthenticationInfo}, rapid7/metakitty#30, Azure/acr#217),
 *       answers {@code HEAD} 403 and an expired or forged URL 403 (ghcr.io's S3 backend: "The
 *       backend doesn't allow HEAD request: fails with 403" and "The redirected URL expires soon
 *       (300sec?): fails with 403", containerd/stargz-snapshotter#167). It serves the bytes from
 *       the real registry's blob store, streamed.
 *   <li><b>4 MiB per PATCH.</b> A {@code PATCH} whose body exceeds {@link Options#maxPatchBytes()}
 *       gets {@code 416} with ghcr.io's body, {@code {"errors":[{"code":
 *       "REQUESTED_RANGE_NOT_SATISFIABLE","message":"the request body is too large and exceeds the
 *       maximum permissible limit of 4.00MiB"}]}} (quoted in oras-project/rust-oci-client#35 and
 *       wasmCloud/wash-archive#268).
 *   <li><b>Rate limits.</b> Upload starts ({@code POST …/blobs/uploads/}) and pulls ({@code GET}
 *       and {@code HEAD} of manifests and blobs) are counted per minute of {@link Options#clock()};
 *       past {@link Options#uploadStartsPerMinute()} (ghcr.io: 2,000) or {@link
 *       Options#pullsPerMinute()} (44,000) the answer is {@code 429} with a {@code retry-after}
 *       header and code {@code TOOMANYREQUESTS}, message {@code retry-after: …, allowed: N/minute}
 *       (ghcr.io's words: chainguard-images/images#173 "POST …/blobs/uploads/: TOOMANYREQUESTS:
 *       retry-after: 10.305464ms, allowed: 2000/minute", falcosecurity/plugins#1069 "allowed:
 *       44000/minute").
 *   <li><b>Tag lists in pages of 100.</b> {@code n} is capped at {@link Options#tagPageSize()}
 *       (also when absent) and a further page is announced with {@code Link:
 *       </v2/NAME/tags/list?last=TAG&n=100>; rel="next"} (the distribution spec's pagination).
 *   <li><b>No deletes.</b> {@code DELETE} of a manifest or blob: {@code 405}, code {@code
 *       UNSUPPORTED} (the spec's code for an unsupported operation; ghcr.io deletes packages
 *       through the GitHub API only).
 *   <li><b>Tags of at most 128 characters.</b> A manifest {@code PUT} under a longer tag: {@code
 *       400 MANIFEST_INVALID} (the spec: a tag "MUST be at most 128 characters"; the CNCF registry
 *       only answers 404, its route does not match).
 * </ul>
 *
 * <p><b>What it does not copy.</b> TLS and HTTP/2; ghcr.io's token format, lifetimes and scopes
 * beyond pull/push; the exact status ghcr.io gives a tag over 128 characters (not found in any
 * report; the spec's code is used); storage {@code Range} requests; ghcr.io's sliding rate window
 * (a fixed window per minute here) and its secondary limits; whether ghcr.io caps a streamed PATCH
 * without {@code Content-Range} the same way (reports show the cap on chunked uploads; here every
 * PATCH is capped); the referrers API; latency (put a {@link LatencyProxy} in front).
 *
 * <p>Memory: bodies are relayed in 64 KiB pieces, never held whole; a PATCH without a length is
 * counted as it streams and cut off at the cap. Only tag lists (small JSON) are read whole.
 */
public final class GhcrLike implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(GhcrLike.class);

  public static final long FOUR_MIB = 4L * 1024 * 1024;

  /** ghcr.io's 416 body, as quoted in the reports named in the class comment. */
  static final String PATCH_TOO_LARGE =
      "the request body is too large and exceeds the maximum permissible limit of 4.00MiB";

  private static final int MAX_TAG_LENGTH = 128;
  private static final Pattern UPLOADS = Pattern.compile("^/v2/(.+)/blobs/uploads/(.*)$");
  private static final Pattern BLOB = Pattern.compile("^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$");
  private static final Pattern MANIFEST = Pattern.compile("^/v2/(.+)/manifests/([^/]+)$");
  private static final Pattern TAGS = Pattern.compile("^/v2/(.+)/tags/list$");
  private static final Pattern STORAGE = Pattern.compile("^/blobs/sha256/([0-9a-f]{64})$");
  private static final Set<String> HOP_BY_HOP =
      Set.of(
          "host",
          "connection",
          "content-length",
          "expect",
          "upgrade",
          "transfer-encoding",
          "keep-alive",
          "te",
          "trailer",
          "proxy-connection",
          "date");

  /**
   * Settings fixed at start.
   *
   * @param name the log directory's name; null for the running test class
   * @param clock what expiry of storage URLs and the rate windows read
   */
  public record Options(
      String name,
      InstantSource clock,
      Duration urlLifetime,
      long maxPatchBytes,
      int uploadStartsPerMinute,
      int pullsPerMinute,
      int tagPageSize) {

    /** ghcr.io's figures, the system clock. */
    public static final Options DEFAULT =
        new Options(
            null, InstantSource.system(), Duration.ofSeconds(300), FOUR_MIB, 2_000, 44_000, 100);

    public Options {
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(urlLifetime, "urlLifetime");
      if (maxPatchBytes < 1 || uploadStartsPerMinute < 1 || pullsPerMinute < 1 || tagPageSize < 1) {
        throw new IllegalArgumentException(
            "limits must be positive: maxPatchBytes "
                + maxPatchBytes
                + ", uploadStartsPerMinute "
                + uploadStartsPerMinute
                + ", pullsPerMinute "
                + pullsPerMinute
                + ", tagPageSize "
                + tagPageSize);
      }
    }

    public Options withName(String name) {
      return new Options(
          name,
          clock,
          urlLifetime,
          maxPatchBytes,
          uploadStartsPerMinute,
          pullsPerMinute,
          tagPageSize);
    }

    public Options withClock(InstantSource clock) {
      return new Options(
          name,
          clock,
          urlLifetime,
          maxPatchBytes,
          uploadStartsPerMinute,
          pullsPerMinute,
          tagPageSize);
    }

    public Options withUrlLifetime(Duration urlLifetime) {
      return new Options(
          name,
          clock,
          urlLifetime,
          maxPatchBytes,
          uploadStartsPerMinute,
          pullsPerMinute,
          tagPageSize);
    }

    public Options withMaxPatchBytes(long maxPatchBytes) {
      return new Options(
          name,
          clock,
          urlLifetime,
          maxPatchBytes,
          uploadStartsPerMinute,
          pullsPerMinute,
          tagPageSize);
    }

    public Options withRateLimits(int uploadStartsPerMinute, int pullsPerMinute) {
      return new Options(
          name,
          clock,
          urlLifetime,
          maxPatchBytes,
          uploadStartsPerMinute,
          pullsPerMinute,
          tagPageSize);
    }
  }

  /** One request the front or the storage answered: for tests that count or look at statuses. */
  public record Served(String origin, String method, String target, int status) {
    public boolean matches(String method, String pathRegex) {
      String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
      return this.method.equals(method) && path.matches(pathRegex);
    }
  }

  private final Options options;
  private final Registry registry;
  private final URI upstream;
  private final HttpServer front;
  private final HttpServer storage;
  private final ExecutorService executor;
  private final ExecutorService clientExecutor =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "oranc-testkit-ghcr-like-client");
            t.setDaemon(true);
            return t;
          });
  private final HttpClient http;
  private final byte[] signingKey = new byte[32];
  private final Set<String> publicRepositories = ConcurrentHashMap.newKeySet();
  private final RateWindow uploadStarts;
  private final RateWindow pulls;
  private final Queue<Served> served = new ConcurrentLinkedQueue<>();

  /**
   * Exchanges are recorded once their answer is sent, so a client can hold the answer before its
   * record exists. Each exchange takes a number when it starts; {@link #served()} first waits for
   * every exchange that started before it to be recorded (never for later ones), so a test that
   * reads it after a request was answered always sees that request.
   */
  private final AtomicLong started = new AtomicLong();

  private final ConcurrentSkipListSet<Long> running = new ConcurrentSkipListSet<>();
  private final Object recorded = new Object();

  private GhcrLike(Options options, Registry registry) throws IOException {
    this.options = options;
    this.registry = registry;
    this.upstream = registry.baseUri();
    new SecureRandom().nextBytes(signingKey);
    this.uploadStarts = new RateWindow(options.clock(), options.uploadStartsPerMinute());
    this.pulls = new RateWindow(options.clock(), options.pullsPerMinute());
    registry.anonymousPull(publicRepositories::contains);
    this.executor =
        Executors.newFixedThreadPool(
            32,
            r -> {
              Thread t = new Thread(r, "oranc-testkit-ghcr-like");
              t.setDaemon(true);
              return t;
            });
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5))
            // Not the servers' pool: a handler blocks on the client's data, which the client
            // delivers on its executor; sharing a fixed pool could leave none to deliver it.
            .executor(clientExecutor)
            .build();
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    this.front = HttpServer.create(new InetSocketAddress(loopback, 0), 64);
    this.storage = HttpServer.create(new InetSocketAddress(loopback, 0), 64);
    front.setExecutor(executor);
    storage.setExecutor(executor);
    front.createContext("/", exchange -> handle(exchange, "registry", this::serveRegistry));
    storage.createContext("/", exchange -> handle(exchange, "storage", this::serveStorage));
    front.start();
    storage.start();
  }

  /** Starts a TOKEN registry and the front and storage in front of it. */
  public static GhcrLike start(Options options) {
    Objects.requireNonNull(options, "options");
    Registry registry =
        Registry.start(
            RegistryFlavour.TOKEN,
            Registry.Options.DEFAULT.withName(
                options.name() != null ? options.name() : TestLogs.currentTestClass()));
    try {
      GhcrLike g = new GhcrLike(options, registry);
      log.info(
          "ghcr-like registry at {}, storage {}, behind it {}",
          g.address(),
          g.storageAddress(),
          registry);
      return g;
    } catch (IOException | RuntimeException e) {
      registry.close();
      throw new IllegalStateException("the ghcr-like registry did not start: " + e, e);
    }
  }

  public static GhcrLike start() {
    return start(Options.DEFAULT);
  }

  // ----- where it is, and what it did -----

  /** {@code 127.0.0.1:PORT}: what goes in {@code --registry}. */
  public String address() {
    return "127.0.0.1:" + front.getAddress().getPort();
  }

  public URI baseUri() {
    return URI.create("http://" + address());
  }

  /** {@code 127.0.0.1:PORT} of the blob storage the 307s point at. */
  public String storageAddress() {
    return "127.0.0.1:" + storage.getAddress().getPort();
  }

  /** The real registry behind the front (for seeding and its counters). */
  public Registry registry() {
    return registry;
  }

  /** Anonymous callers may pull {@code repository} from now on. */
  public void makePublic(String repository) {
    publicRepositories.add(Objects.requireNonNull(repository, "repository"));
  }

  public void makePrivate(String repository) {
    publicRepositories.remove(repository);
  }

  /** Requests answered by the front and the storage since start or {@link #resetCounters()}. */
  public List<Served> served() {
    awaitRecorded();
    return List.copyOf(served);
  }

  public List<Served> served(String origin, String method, String pathRegex) {
    awaitRecorded();
    return served.stream()
        .filter(s -> s.origin().equals(origin) && s.matches(method, pathRegex))
        .toList();
  }

  /** Waits (at most 5 s) until every exchange started so far is recorded. */
  private void awaitRecorded() {
    long upTo = started.get();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    synchronized (recorded) {
      while (!running.isEmpty() && running.first() <= upTo) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return; // one still running (a held or stalled answer): the test reads what is there
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(recorded, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  public void resetCounters() {
    awaitRecorded();
    served.clear();
    registry.resetCounters();
  }

  @Override
  public void close() {
    try {
      front.stop(0);
      storage.stop(0);
      executor.shutdownNow();
      clientExecutor.shutdownNow();
    } finally {
      registry.close();
    }
  }

  @Override
  public String toString() {
    return "GhcrLike[" + address() + ", storage " + storageAddress() + "]";
  }

  // ----- the registry origin -----

  private interface Handler {
    int serve(HttpExchange exchange) throws IOException, InterruptedException;
  }

  private void handle(HttpExchange exchange, String origin, Handler handler) {
    int status = 0;
    long id = started.incrementAndGet();
    running.add(id);
    try (exchange) {
      try {
        status = handler.serve(exchange);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException | RuntimeException e) {
        // The client went away, or the registry behind: if nothing was answered yet, say so.
        log.debug(
            "{} {} {}: {}",
            origin,
            exchange.getRequestMethod(),
            exchange.getRequestURI(),
            e.toString());
        if (exchange.getResponseCode() == -1) {
          try {
            status = 502;
            exchange.sendResponseHeaders(502, -1);
          } catch (IOException ignored) {
            // nothing more to tell
          }
        }
      }
    } finally {
      Served s =
          new Served(
              origin, exchange.getRequestMethod(), exchange.getRequestURI().toString(), status);
      served.add(s);
      synchronized (recorded) {
        running.remove(id);
        recorded.notifyAll();
      }
      appendLog(s);
    }
  }

  /** Every request in {@code registry-token.ghcr-like.log} next to the registry's log. */
  private synchronized void appendLog(Served s) {
    String name = registry.logFile().getFileName().toString();
    Path file = registry.logFile().resolveSibling(name.replace(".log", ".ghcr-like.log"));
    // The signature is a bearer credential for the blob: not in the log.
    String line =
        Instant.now()
            + " "
            + s.origin()
            + " "
            + s.method()
            + " "
            + s.target().replaceAll("X-Signature=[0-9a-f]+", "X-Signature=-")
            + " "
            + s.status()
            + "\n";
    try {
      Files.writeString(
          file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      // a debugging aid; tests read served()
    }
  }

  private int serveRegistry(HttpExchange exchange) throws IOException, InterruptedException {
    String method = exchange.getRequestMethod();
    String path = exchange.getRequestURI().getRawPath();
    Matcher m;
    if ((m = UPLOADS.matcher(path)).matches()) {
      if (method.equals("POST") && m.group(2).isEmpty()) {
        long wait = uploadStarts.acquire();
        if (wait >= 0) {
          return tooMany(exchange, wait, options.uploadStartsPerMinute());
        }
      }
      if (method.equals("PATCH")) {
        return patch(exchange);
      }
      return relay(exchange, method);
    }
    if ((m = BLOB.matcher(path)).matches()) {
      if (method.equals("DELETE")) {
        return error(exchange, 405, "UNSUPPORTED", "the operation is unsupported");
      }
      if (method.equals("GET") || method.equals("HEAD")) {
        long wait = pulls.acquire();
        if (wait >= 0) {
          return tooMany(exchange, wait, options.pullsPerMinute());
        }
        return blob(exchange, m.group(2));
      }
      return relay(exchange, method);
    }
    if ((m = MANIFEST.matcher(path)).matches()) {
      String reference = m.group(2);
      if (method.equals("DELETE")) {
        return error(exchange, 405, "UNSUPPORTED", "the operation is unsupported");
      }
      if (method.equals("PUT") && !reference.contains(":") && reference.length() > MAX_TAG_LENGTH) {
        return error(
            exchange,
            400,
            "MANIFEST_INVALID",
            "manifest invalid: tag is longer than " + MAX_TAG_LENGTH + " characters");
      }
      if (method.equals("GET") || method.equals("HEAD")) {
        long wait = pulls.acquire();
        if (wait >= 0) {
          return tooMany(exchange, wait, options.pullsPerMinute());
        }
      }
      return relay(exchange, method);
    }
    if ((m = TAGS.matcher(path)).matches() && method.equals("GET")) {
      return tags(exchange, m.group(1));
    }
    return relay(exchange, method);
  }

  /**
   * Asks the registry (with the caller's credentials) whether the caller may read the blob, and
   * sends it to storage if so; a refusal or a 404 is the registry's own answer.
   */
  private int blob(HttpExchange exchange, String digest) throws IOException, InterruptedException {
    HttpResponse<InputStream> head = send(exchange, "HEAD", HttpRequest.BodyPublishers.noBody());
    try (InputStream ignored = head.body()) {
      if (head.statusCode() != 200) {
        if (exchange.getRequestMethod().equals("HEAD")) {
          return answerWith(exchange, head);
        }
      } else {
        long expires = options.clock().instant().plus(options.urlLifetime()).getEpochSecond();
        String storagePath = "/blobs/sha256/" + digest.substring("sha256:".length());
        String location =
            "http://"
                + storageAddress()
                + storagePath
                + "?X-Expires="
                + expires
                + "&X-Signature="
                + sign(storagePath, expires);
        exchange.getResponseHeaders().set("Location", location);
        exchange.getResponseHeaders().set("Docker-Content-Digest", digest);
        exchange.sendResponseHeaders(307, -1);
        return 307;
      }
    }
    return relay(exchange, "GET");
  }

  private int patch(HttpExchange exchange) throws IOException, InterruptedException {
    long max = options.maxPatchBytes();
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    if (length != null && Long.parseLong(length.strip()) > max) {
      return patchTooLarge(exchange);
    }
    CappedInputStream body = new CappedInputStream(exchange.getRequestBody(), max);
    HttpRequest.BodyPublisher publisher =
        length != null
            ? HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> body),
                Long.parseLong(length.strip()))
            : HttpRequest.BodyPublishers.ofInputStream(() -> body);
    HttpResponse<InputStream> response;
    try {
      response = send(exchange, "PATCH", publisher);
    } catch (IOException e) {
      if (body.exceeded()) {
        return patchTooLarge(exchange);
      }
      throw e;
    }
    if (body.exceeded()) {
      response.body().close();
      return patchTooLarge(exchange);
    }
    return answerWith(exchange, response);
  }

  private int patchTooLarge(HttpExchange exchange) throws IOException {
    // Read what the client is still sending (and drop it), or closing the connection with unread
    // bytes resets it and the client never sees the 416.
    exchange.getRequestBody().transferTo(OutputStream.nullOutputStream());
    return error(exchange, 416, "REQUESTED_RANGE_NOT_SATISFIABLE", PATCH_TOO_LARGE);
  }

  /** Reads at most {@code max} bytes; one more fails the read and marks the body too large. */
  private static final class CappedInputStream extends InputStream {
    private final InputStream in;
    private final long max;
    private long read;
    private volatile boolean exceeded;

    CappedInputStream(InputStream in, long max) {
      this.in = in;
      this.max = max;
    }

    boolean exceeded() {
      return exceeded;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      if (n > 0) {
        read += n;
        if (read > max) {
          exceeded = true;
          throw new IOException("PATCH body over " + max + " bytes");
        }
      }
      return n;
    }
  }

  /** The whole list from the registry, paged here: distribution 2.8 pages only when asked. */
  private int tags(HttpExchange exchange, String name) throws IOException, InterruptedException {
    Map<String, List<String>> query =
        TokenService.parseQuery(exchange.getRequestURI().getRawQuery());
    int n = options.tagPageSize();
    List<String> asked = query.get("n");
    if (asked != null && !asked.isEmpty()) {
      try {
        n = Math.max(1, Math.min(n, Integer.parseInt(asked.get(0))));
      } catch (NumberFormatException e) {
        return error(
            exchange, 400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested");
      }
    }
    List<String> lastValues = query.get("last");
    String last = lastValues == null || lastValues.isEmpty() ? null : lastValues.get(0);
    HttpResponse<InputStream> response =
        send(exchange, "GET", HttpRequest.BodyPublishers.noBody(), "/v2/" + name + "/tags/list");
    if (response.statusCode() != 200) {
      return answerWith(exchange, response);
    }
    Map<String, Object> all;
    try (InputStream in = response.body()) {
      all = JSON.std.mapFrom(in);
    }
    List<String> tags = new ArrayList<>();
    Object listed = all.get("tags");
    if (listed instanceof List<?> list) {
      for (Object t : list) {
        tags.add(String.valueOf(t));
      }
    }
    tags.sort(null);
    List<String> page = new ArrayList<>();
    boolean more = false;
    for (String t : tags) {
      if (last != null && t.compareTo(last) <= 0) {
        continue;
      }
      if (page.size() == n) {
        more = true;
        break;
      }
      page.add(t);
    }
    if (more) {
      exchange
          .getResponseHeaders()
          .set(
              "Link",
              "</v2/"
                  + name
                  + "/tags/list?last="
                  + URLEncoder.encode(page.get(page.size() - 1), StandardCharsets.UTF_8)
                  + "&n="
                  + n
                  + ">; rel=\"next\"");
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", all.getOrDefault("name", name));
    body.put("tags", page);
    return json(exchange, 200, JSON.std.asBytes(body));
  }

  private int tooMany(HttpExchange exchange, long waitMillis, int allowed) throws IOException {
    long seconds = Math.max(1, (waitMillis + 999) / 1000);
    exchange.getResponseHeaders().set("Retry-After", Long.toString(seconds));
    return error(
        exchange,
        429,
        "TOOMANYREQUESTS",
        "retry-after: " + waitMillis + "ms, allowed: " + allowed + "/minute");
  }

  /** The request as it came, to the registry behind; the answer as it comes, to the caller. */
  private int relay(HttpExchange exchange, String method) throws IOException, InterruptedException {
    Headers in = exchange.getRequestHeaders();
    String length = in.getFirst("Content-Length");
    boolean chunked = "chunked".equalsIgnoreCase(in.getFirst("Transfer-Encoding"));
    HttpRequest.BodyPublisher publisher;
    if (length != null && Long.parseLong(length.strip()) > 0) {
      publisher =
          HttpRequest.BodyPublishers.fromPublisher(
              HttpRequest.BodyPublishers.ofInputStream(exchange::getRequestBody),
              Long.parseLong(length.strip()));
    } else if (chunked) {
      publisher = HttpRequest.BodyPublishers.ofInputStream(exchange::getRequestBody);
    } else {
      publisher = HttpRequest.BodyPublishers.noBody();
    }
    return answerWith(exchange, send(exchange, method, publisher));
  }

  private HttpResponse<InputStream> send(
      HttpExchange exchange, String method, HttpRequest.BodyPublisher body)
      throws IOException, InterruptedException {
    return send(exchange, method, body, null);
  }

  private HttpResponse<InputStream> send(
      HttpExchange exchange, String method, HttpRequest.BodyPublisher body, String pathAndQuery)
      throws IOException, InterruptedException {
    String target =
        pathAndQuery != null
            ? pathAndQuery
            : exchange.getRequestURI().getRawPath()
                + (exchange.getRequestURI().getRawQuery() == null
                    ? ""
                    : "?" + exchange.getRequestURI().getRawQuery());
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(upstream + target))
            .method(method, body)
            .timeout(Duration.ofMinutes(5));
    for (Map.Entry<String, List<String>> h : exchange.getRequestHeaders().entrySet()) {
      if (HOP_BY_HOP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
        continue;
      }
      for (String v : h.getValue()) {
        b.header(h.getKey(), v);
      }
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
  }

  private int answerWith(HttpExchange exchange, HttpResponse<InputStream> response)
      throws IOException {
    Headers out = exchange.getResponseHeaders();
    for (Map.Entry<String, List<String>> h : response.headers().map().entrySet()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(name) || name.startsWith(":")) {
        continue;
      }
      for (String v : h.getValue()) {
        // The registry builds absolute upload locations from the Host it was sent (its own); the
        // caller's Host is ours, or that of a proxy in front of us.
        out.add(
            h.getKey(),
            name.equals("location") && v.startsWith(upstream.toString())
                ? ourBase(exchange) + v.substring(upstream.toString().length())
                : v);
      }
    }
    int status = response.statusCode();
    long length = response.headers().firstValueAsLong("Content-Length").orElse(-1);
    try (InputStream body = response.body()) {
      if (exchange.getRequestMethod().equals("HEAD") || status == 204 || status == 304) {
        if (length >= 0 && exchange.getRequestMethod().equals("HEAD")) {
          out.set("Content-Length", Long.toString(length));
        }
        exchange.sendResponseHeaders(status, -1);
      } else if (length == 0) {
        exchange.sendResponseHeaders(status, -1);
      } else {
        exchange.sendResponseHeaders(status, Math.max(length, 0));
        try (OutputStream o = exchange.getResponseBody()) {
          body.transferTo(o);
        }
      }
    }
    return status;
  }

  private String ourBase(HttpExchange exchange) {
    String host = exchange.getRequestHeaders().getFirst("Host");
    return host == null || host.isBlank() ? baseUri().toString() : "http://" + host.strip();
  }

  private static int error(HttpExchange exchange, int status, String code, String message)
      throws IOException {
    return json(
        exchange,
        status,
        JSON.std.asBytes(Map.of("errors", List.of(Map.of("code", code, "message", message)))));
  }

  private static int json(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    if (exchange.getRequestMethod().equals("HEAD")) {
      exchange.sendResponseHeaders(status, -1);
      return status;
    }
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream o = exchange.getResponseBody()) {
      o.write(body);
    }
    return status;
  }

  // ----- the storage origin -----

  private int serveStorage(HttpExchange exchange) throws IOException {
    Matcher m = STORAGE.matcher(exchange.getRequestURI().getRawPath());
    if (exchange.getRequestHeaders().containsKey("Authorization")) {
      return s3Error(
          exchange,
          400,
          "InvalidArgument",
          "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature"
              + " query string parameter or the Authorization header should be specified");
    }
    if (!exchange.getRequestMethod().equals("GET")) {
      // S3 signs the method: a URL presigned for GET is forged for HEAD, and a HEAD has no body.
      exchange.sendResponseHeaders(403, -1);
      return 403;
    }
    if (!m.matches()) {
      return s3Error(exchange, 403, "AccessDenied", "Access Denied");
    }
    Map<String, List<String>> query =
        TokenService.parseQuery(exchange.getRequestURI().getRawQuery());
    long expires;
    String signature;
    try {
      expires = Long.parseLong(query.getOrDefault("X-Expires", List.of("")).get(0));
      signature = query.getOrDefault("X-Signature", List.of("")).get(0);
    } catch (NumberFormatException e) {
      return s3Error(
          exchange,
          403,
          "AccessDenied",
          "Query-string authentication requires the Signature and Expires parameters");
    }
    String path = exchange.getRequestURI().getRawPath();
    if (!MessageDigest.isEqual(
        sign(path, expires).getBytes(StandardCharsets.US_ASCII),
        signature.getBytes(StandardCharsets.US_ASCII))) {
      return s3Error(
          exchange,
          403,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided");
    }
    if (options.clock().instant().isAfter(Instant.ofEpochSecond(expires))) {
      return s3Error(exchange, 403, "AccessDenied", "Request has expired");
    }
    String hex = m.group(1);
    Path data =
        registry
            .storageDir()
            .resolve("docker/registry/v2/blobs/sha256")
            .resolve(hex.substring(0, 2))
            .resolve(hex)
            .resolve("data");
    InputStream in;
    try {
      in = Files.newInputStream(data);
    } catch (NoSuchFileException e) {
      return s3Error(exchange, 404, "NoSuchKey", "The specified key does not exist.");
    }
    try (in) {
      exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
      exchange.sendResponseHeaders(200, Math.max(Files.size(data), 0) == 0 ? -1 : Files.size(data));
      try (OutputStream o = exchange.getResponseBody()) {
        in.transferTo(o);
      }
    }
    return 200;
  }

  private static int s3Error(HttpExchange exchange, int status, String code, String message)
      throws IOException {
    byte[] body =
        ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                + code
                + "</Code><Message>"
                + message
                + "</Message></Error>")
            .getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/xml");
    if (exchange.getRequestMethod().equals("HEAD")) {
      exchange.sendResponseHeaders(status, -1);
      return status;
    }
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream o = exchange.getResponseBody()) {
      o.write(body);
    }
    return status;
  }

  private String sign(String path, long expires) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(signingKey, "HmacSHA256"));
      return HexFormat.of()
          .formatHex(
              mac.doFinal(("GET\n" + path + "\n" + expires).getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing", e);
    }
  }

  /** Requests counted per minute of the clock (fixed windows starting on the minute). */
  static final class RateWindow {
    private final InstantSource clock;
    private final int allowed;
    private long window = Long.MIN_VALUE;
    private int count;

    RateWindow(InstantSource clock, int allowed) {
      this.clock = clock;
      this.allowed = allowed;
    }

    /** -1 if this request is allowed, otherwise the milliseconds until the window ends. */
    synchronized long acquire() {
      long now = clock.millis();
      long current = Math.floorDiv(now, 60_000L);
      if (current != window) {
        window = current;
        count = 0;
      }
      if (count < allowed) {
        count++;
        return -1;
      }
      return (current + 1) * 60_000L - now;
    }
  }
}
