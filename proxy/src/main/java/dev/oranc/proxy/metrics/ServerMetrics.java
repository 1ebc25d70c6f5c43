package dev.oranc.proxy.metrics;

import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.oranc.common.registry.throttle.Throttling;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The server's counters, exposed at {@code GET /-/metrics} in the Prometheus text format (0.0.4).
 *
 * <p>Design note. A handful of counters and gauges, written by hand rather than with the Prometheus
 * client library: the format is a few lines of text, the hot path is one {@link LongAdder}
 * increment (no label lookups allocate: label sets are fixed or cached), and the proxy keeps one
 * dependency fewer. Label values are bounded: methods other than GET/HEAD/PUT count as {@code
 * other}, statuses are three digits, registry operations and cache names are ours.
 *
 * <p>Cache hit and miss counts are Caffeine's own statistics, read at scrape time. The registry
 * operations' counts and latency histogram are {@link RegistryOperations}; the text format is
 * {@link PrometheusText}.
 */
public final class ServerMetrics {

  private static final String[] KNOWN_METHODS = {"GET", "HEAD", "PUT"};

  private final ConcurrentHashMap<RequestLabel, LongAdder> requests = new ConcurrentHashMap<>();
  private final LongAdder bytesIn = new LongAdder();
  private final LongAdder bytesOut = new LongAdder();
  private final AtomicInteger connections = new AtomicInteger();
  private final StreamGauge downloads = new StreamGauge();
  private final StreamGauge uploads = new StreamGauge();
  private final LongAdder connectionsRefused = new LongAdder();
  private final LongAdder streamsRefused = new LongAdder();
  private final LongAdder registryNotAllowed = new LongAdder();
  private final LongAdder registryAddressRefused = new LongAdder();
  private final LongAdder narRedirected = new LongAdder();
  private final LongAdder narRelayed = new LongAdder();
  private final LongAdder narRelayedBytes = new LongAdder();
  private final RegistryOperations registry = new RegistryOperations();
  private final ConcurrentHashMap<String, LongAdder> upstream = new ConcurrentHashMap<>();
  private final Map<String, CacheSource> caches = new ConcurrentHashMap<>();
  private volatile LongSupplier[] multipart;
  private final ConcurrentHashMap<String, LongAdder> prefetch = new ConcurrentHashMap<>();
  private volatile Supplier<Throttling> throttling;

  private record RequestLabel(String method, int status) {}

  private record CacheSource(Supplier<CacheStats> stats, LongSupplier size, LongSupplier weight) {}

  /** A request answered (or abandoned, with the status it had). */
  public void request(String method, int status) {
    String m = "other";
    for (String known : KNOWN_METHODS) {
      if (known.equals(method)) {
        m = known;
        break;
      }
    }
    requests.computeIfAbsent(new RequestLabel(m, status), k -> new LongAdder()).increment();
  }

  public void bytesIn(long n) {
    bytesIn.add(n);
  }

  public void bytesOut(long n) {
    bytesOut.add(n);
  }

  public AtomicInteger connections() {
    return connections;
  }

  /** Blob downloads being relayed right now. */
  public StreamGauge downloads() {
    return downloads;
  }

  /** PUT bodies (and multipart parts) being streamed to a registry right now. */
  public StreamGauge uploads() {
    return uploads;
  }

  /**
   * Streams in flight. Not a bare counter: each stream takes a {@link Stream} and ends it, and
   * ending one twice (a stream that fails and whose client then goes, each path ending it) counts
   * once, so the gauge cannot drift below zero whatever order a stream's ends come in. It once did:
   * a relay that failed before it was counted was counted off when its client left.
   */
  public static final class StreamGauge {
    private final AtomicInteger count = new AtomicInteger();

    /** Counts one more stream; the caller ends it exactly once by {@link Stream#end()}. */
    public Stream start() {
      count.incrementAndGet();
      return new Stream(count);
    }

    public int get() {
      return count.get();
    }
  }

  /** One stream's place in a {@link StreamGauge}; {@link #end()} is idempotent. */
  public static final class Stream {
    private final AtomicInteger count;
    private final AtomicBoolean ended = new AtomicBoolean();

    private Stream(AtomicInteger count) {
      this.count = count;
    }

    public void end() {
      if (ended.compareAndSet(false, true)) {
        count.decrementAndGet();
      }
    }
  }

  /** A connection refused for {@code --max-connections}. */
  public void connectionRefused() {
    connectionsRefused.increment();
  }

  /** A download or upload refused for {@code --max-streams-per-client}. */
  public void streamRefused() {
    streamsRefused.increment();
  }

  /** A request for a registry that no {@code --allow-registry} pattern names. */
  public void registryNotAllowed() {
    registryNotAllowed.increment();
  }

  /** A registry connection the address policy refused (a non-public address). */
  public void registryAddressRefused() {
    registryAddressRefused.increment();
  }

  /** A NAR GET answered 307 to where the registry keeps it ({@code --nar-redirect}). */
  public void narRedirected() {
    narRedirected.increment();
  }

  /**
   * A NAR GET whose {@code bytes} this server sent itself (relayed, or from the small-blob cache).
   */
  public void narRelayed(long bytes) {
    narRelayed.increment();
    narRelayedBytes.add(bytes);
  }

  /** NAR GETs redirected so far (tests). */
  public long narsRedirected() {
    return narRedirected.sum();
  }

  /** NAR GETs relayed so far (tests). */
  public long narsRelayed() {
    return narRelayed.sum();
  }

  /** NAR bytes relayed so far (tests). */
  public long narBytesRelayed() {
    return narRelayedBytes.sum();
  }

  /** Registry requests and connections refused by policy so far, both reasons (tests). */
  public long registryRefused() {
    return registryNotAllowed.sum() + registryAddressRefused.sum();
  }

  /** Connections refused so far (tests). */
  public long connectionsRefused() {
    return connectionsRefused.sum();
  }

  /** Streams refused so far (tests). */
  public long streamsRefused() {
    return streamsRefused.sum();
  }

  /**
   * One registry operation done: {@code resolve} (tag to manifest, with fallbacks), {@code
   * blob_get}, {@code blob_stream}, {@code upload}, {@code publish}.
   *
   * @param outcome {@code ok}, {@code miss}, or the failure's kind
   */
  public void registry(String operation, String outcome, long nanos) {
    registry.observe(operation, outcome, nanos);
  }

  /** An upstream check's outcome: {@code found}, {@code absent}, {@code failed}. */
  public void upstream(String outcome) {
    upstream.computeIfAbsent(outcome, k -> new LongAdder()).increment();
  }

  /**
   * A prefetch's outcome: {@code done}, {@code dropped} (queue full), {@code failed}, {@code
   * skipped}.
   */
  public void prefetch(String result) {
    prefetch.computeIfAbsent(result, k -> new LongAdder()).increment();
  }

  /** Prefetches so far with this result. */
  public long prefetches(String result) {
    LongAdder a = prefetch.get(result);
    return a == null ? 0 : a.sum();
  }

  /** Registers a Caffeine cache's statistics, entry count and weight (bytes, or -1). */
  public void cache(
      String name, Supplier<CacheStats> stats, LongSupplier size, LongSupplier weight) {
    caches.put(name, new CacheSource(stats, size, weight));
  }

  /**
   * Registers the S3 multipart uploads' figures: uploads in progress, spool bytes reserved, parts
   * streamed straight to the registry and parts spooled.
   */
  public void multipart(
      LongSupplier uploads, LongSupplier spoolBytes, LongSupplier direct, LongSupplier spooled) {
    multipart = new LongSupplier[] {uploads, spoolBytes, direct, spooled};
  }

  /** Registers the registry client's rate-limit figures (answers, time paused). */
  public void registryThrottling(Supplier<Throttling> throttling) {
    this.throttling = throttling;
  }

  /** Count of requests so far with this method and status (tests and the health check use it). */
  public long requests(String method, int status) {
    LongAdder a = requests.get(new RequestLabel(method, status));
    return a == null ? 0 : a.sum();
  }

  /** Registry operations so far with this name, of any outcome. */
  public long registryOperations(String operation) {
    return registry.count(operation);
  }

  /** The Prometheus text exposition of everything above. */
  public String scrape() {
    PrometheusText out = new PrometheusText();
    out.header(
        "oranc_http_requests_total", "counter", "HTTP requests answered, by method and status.");
    new TreeMap<String, Long>(
            requests.entrySet().stream()
                .collect(
                    Collectors.toMap(
                        e ->
                            "{method=\""
                                + e.getKey().method
                                + "\",status=\""
                                + e.getKey().status
                                + "\"}",
                        e -> e.getValue().sum())))
        .forEach((labels, v) -> out.sample("oranc_http_requests_total", labels, v));
    out.header("oranc_http_received_bytes_total", "counter", "Request body bytes received.");
    out.sample("oranc_http_received_bytes_total", "", bytesIn.sum());
    out.header("oranc_http_sent_bytes_total", "counter", "Response body bytes sent.");
    out.sample("oranc_http_sent_bytes_total", "", bytesOut.sum());
    out.header("oranc_http_connections", "gauge", "Client connections open.");
    out.sample("oranc_http_connections", "", connections.get());
    out.header("oranc_streams_in_flight", "gauge", "Blob bodies being relayed, by direction.");
    out.sample("oranc_streams_in_flight", "{direction=\"download\"}", downloads.get());
    out.sample("oranc_streams_in_flight", "{direction=\"upload\"}", uploads.get());
    out.header(
        "oranc_http_connections_refused_total",
        "counter",
        "Connections refused at once because --max-connections were open.");
    out.sample("oranc_http_connections_refused_total", "", connectionsRefused.sum());
    out.header(
        "oranc_streams_refused_total",
        "counter",
        "Downloads and uploads answered 503 because their client address had"
            + " --max-streams-per-client in flight.");
    out.sample("oranc_streams_refused_total", "", streamsRefused.sum());
    out.header(
        "oranc_registry_refused_total",
        "counter",
        "Registries refused by policy: not named by --allow-registry (not_allowed), or a connection"
            + " to a loopback, private or otherwise internal address (address).");
    out.sample(
        "oranc_registry_refused_total", "{reason=\"address\"}", registryAddressRefused.sum());
    out.sample(
        "oranc_registry_refused_total", "{reason=\"not_allowed\"}", registryNotAllowed.sum());
    out.header(
        "oranc_nar_redirected_total",
        "counter",
        "NAR GETs answered 307 to the registry's storage (--nar-redirect): their bytes did not pass"
            + " here.");
    out.sample("oranc_nar_redirected_total", "", narRedirected.sum());
    out.header(
        "oranc_nar_relayed_total", "counter", "NAR GETs whose bytes this server sent itself.");
    out.sample("oranc_nar_relayed_total", "", narRelayed.sum());
    out.header("oranc_nar_relayed_bytes_total", "counter", "NAR bytes this server sent itself.");
    out.sample("oranc_nar_relayed_bytes_total", "", narRelayedBytes.sum());
    Supplier<Throttling> throttled = throttling;
    if (throttled != null) {
      Throttling now = throttled.get();
      out.header(
          "oranc_registry_rate_limited_total",
          "counter",
          "Registry answers 429 (or 503) the client slowed down for.");
      out.sample("oranc_registry_rate_limited_total", "", now.rateLimitAnswers());
      out.header(
          "oranc_registry_throttled_seconds_total",
          "counter",
          "Time some registry was paused by its rate limits (Retry-After or backoff).");
      out.sampleDouble(
          "oranc_registry_throttled_seconds_total", "", now.throttled().toMillis() / 1000.0);
    }

    registry.writeTo(out);

    out.header("oranc_upstream_checks_total", "counter", "Upstream cache checks, by outcome.");
    new TreeMap<>(upstream)
        .forEach(
            (k, v) ->
                out.sample("oranc_upstream_checks_total", "{outcome=\"" + k + "\"}", v.sum()));

    out.header(
        "oranc_prefetch_total",
        "counter",
        "Background prefetches of narinfos and NAR layers, by result: done, dropped (queue full),"
            + " failed (nothing kept), skipped (cached, queued or running already).");
    for (String r : new String[] {"done", "dropped", "failed", "skipped"}) {
      out.sample("oranc_prefetch_total", "{result=\"" + r + "\"}", prefetches(r));
    }

    Map<String, CacheSource> sorted = new TreeMap<>(caches);
    out.header("oranc_cache_hits_total", "counter", "Cache hits, by cache.");
    sorted.forEach(
        (n, c) -> out.sample("oranc_cache_hits_total", cacheLabel(n), c.stats.get().hitCount()));
    out.header("oranc_cache_misses_total", "counter", "Cache misses, by cache.");
    sorted.forEach(
        (n, c) -> out.sample("oranc_cache_misses_total", cacheLabel(n), c.stats.get().missCount()));
    out.header(
        "oranc_cache_evictions_total", "counter", "Cache evictions (size or expiry), by cache.");
    sorted.forEach(
        (n, c) ->
            out.sample(
                "oranc_cache_evictions_total", cacheLabel(n), c.stats.get().evictionCount()));
    out.header("oranc_cache_entries", "gauge", "Entries held, by cache (approximate).");
    sorted.forEach((n, c) -> out.sample("oranc_cache_entries", cacheLabel(n), c.size.getAsLong()));
    out.header(
        "oranc_cache_bytes", "gauge", "Bytes held by caches that bound their size in bytes.");
    sorted.forEach(
        (n, c) -> {
          long w = c.weight.getAsLong();
          if (w >= 0) {
            out.sample("oranc_cache_bytes", cacheLabel(n), w);
          }
        });
    LongSupplier[] m = multipart;
    if (m != null) {
      out.header("oranc_multipart_uploads", "gauge", "S3 multipart uploads in progress.");
      out.sample("oranc_multipart_uploads", "", m[0].getAsLong());
      out.header(
          "oranc_multipart_spool_bytes",
          "gauge",
          "Bytes reserved in the multipart spool for early parts.");
      out.sample("oranc_multipart_spool_bytes", "", m[1].getAsLong());
      out.header(
          "oranc_multipart_parts_total",
          "counter",
          "Multipart parts received, by path: streamed to the registry, or spooled until their"
              + " turn.");
      out.sample("oranc_multipart_parts_total", "{path=\"direct\"}", m[2].getAsLong());
      out.sample("oranc_multipart_parts_total", "{path=\"spooled\"}", m[3].getAsLong());
    }
    return out.toString();
  }

  private static String cacheLabel(String name) {
    return "{cache=\"" + PrometheusText.escape(name) + "\"}";
  }
}
