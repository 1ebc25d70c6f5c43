package dev.oranc.cli;

import ch.qos.logback.classic.LoggerContext;
import dev.oranc.common.net.HostPattern;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.proxy.OrancServer;
import dev.oranc.proxy.ServerConfig;
import dev.oranc.proxy.ServerStartException;
import dev.oranc.proxy.s3.MultipartUploads;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    description = {
      "Serve an HTTP Nix binary cache backed by OCI registries.",
      "",
      "Nix reaches a cache at http://HOST:PORT/REGISTRY/REPOSITORY..., e.g.",
      "  substituters = http://127.0.0.1:8080/ghcr.io/owner/cache",
      "Credentials for the registry come from each request (Basic auth, or an S3 access key id"
          + " that is base64(user:password)); requests without them are anonymous.",
    })
final class ServerCommand implements Callable<Integer> {

  @Option(
      names = {"-l", "--listen"},
      paramLabel = "ADDRESS:PORT",
      defaultValue = "[::]:8080",
      converter = Converters.ListenAddress.class,
      description = "Address and port to listen on. Default: ${DEFAULT-VALUE} (all addresses).")
  InetSocketAddress listen;

  @Option(
      names = {"-r", "--repository-parts"},
      paramLabel = "NUM",
      defaultValue = "2",
      converter = Bounded.AtLeastOne.class,
      description =
          "Path segments after the registry that name the repository: with 2,"
              + " /ghcr.io/owner/cache/KEY is key KEY in repository owner/cache. Default:"
              + " ${DEFAULT-VALUE}.")
  int repositoryParts;

  @Option(
      names = {"-m", "--max-retry"},
      paramLabel = "NUM|DURATION",
      defaultValue = "3",
      converter = Converters.ServerRetryBudget.class,
      description =
          "A number: attempts of a failing registry request in all (1 = no retry). A duration"
              + " (10s, 2m): how long one request may wait out the registry's rate limits (429)"
              + " before the client gets 503 with Retry-After; 30s when a number is given."
              + " Default: ${DEFAULT-VALUE}.")
  RetryBudget maxRetry;

  @Option(
      names = "--no-ssl",
      description =
          "Talk plain HTTP to every registry instead of HTTPS. Credentials and tokens then travel"
              + " in clear text to whichever registry a request names; for a local registry prefer"
              + " --insecure-registry.")
  boolean noSsl;

  @Option(
      names = "--allow-registry",
      paramLabel = "PATTERN",
      split = "\\s+",
      splitSynopsisLabel = " ",
      converter = RegistryPattern.class,
      description =
          "Serve only registries matching PATTERN (repeatable): HOST, HOST:PORT, *.DOMAIN or"
              + " [IPv6]:PORT, e.g. ghcr.io or 127.0.0.1:5000 (no port: any port). A request for"
              + " another registry, by path or ?registry=, is answered 403. An explicit HOST may"
              + " be on any address (loopback, private): that is how a local registry is served."
              + " Default: any registry whose addresses are public; the server never connects to"
              + " loopback, private, link-local or other internal addresses (registries, token"
              + " services, redirects) that no explicit PATTERN names.")
  List<HostPattern> allowRegistries = new ArrayList<>();

  @Option(
      names = "--insecure-registry",
      paramLabel = "PATTERN",
      split = "\\s+",
      splitSynopsisLabel = " ",
      converter = RegistryPattern.class,
      description =
          "Talk plain HTTP, not HTTPS, to registries matching PATTERN (repeatable; same form as"
              + " --allow-registry), e.g. a local registry at 127.0.0.1:5000. Other registries"
              + " keep TLS. Default: none.")
  List<HostPattern> insecureRegistries = new ArrayList<>();

  @Option(
      names = {"-u", "--upstream"},
      paramLabel = "URL",
      // Spaces separate several in one value: ORANC_UPSTREAM="https://a https://b".
      split = "\\s+",
      splitSynopsisLabel = " ",
      converter = Converters.HttpUrl.class,
      description =
          "Upstream cache asked first for GET/HEAD (repeatable), e.g. https://cache.nixos.org: a"
              + " key it has is answered with a redirect to it, so nix copy --to skips paths it"
              + " already has. Default: none.")
  List<URI> upstreams = new ArrayList<>();

  @Option(
      names = {"-i", "--ignore-upstream"},
      paramLabel = "REGEX",
      defaultValue = "nix-cache-info",
      converter = Converters.Regex.class,
      description =
          "Keys matching this regular expression (anywhere in the key) are never looked up"
              + " upstream. Default: ${DEFAULT-VALUE}.")
  Pattern ignoreUpstream;

  @Option(
      names = "--upstream-anonymous",
      description =
          "Ask upstream caches for requests without credentials too (by default only requests"
              + " with credentials, i.e. uploads by nix copy --to, are redirected).")
  boolean upstreamAnonymous;

  @Mixin UploadOptions upload;

  @Mixin EncodingOptions encoding;

  // --- server-specific: limits and caches (not in the Rust tool) -------------------------------

  @Option(
      names = "--threads",
      paramLabel = "NUM",
      defaultValue = "0",
      converter = Count.class,
      description =
          "Event-loop threads serving clients and registries (0: one per core). Default:"
              + " ${DEFAULT-VALUE}.")
  int threads;

  @Option(
      names = "--idle-timeout",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description =
          "Close a connection on which the client sent or read nothing for this long while the"
              + " server waited on it (idle keep-alive, stalled headers or body, a download nobody"
              + " reads). Default: ${DEFAULT-VALUE}.")
  Duration idleTimeout;

  @Option(
      names = "--max-connections",
      paramLabel = "NUM",
      defaultValue = "8192",
      converter = Bounded.AtLeastOne.class,
      description =
          "Client connections open at once; one more is answered 503 and closed at once (logged at"
              + " warn, at most every 10 s). Keep it below the file descriptor limit. Default:"
              + " ${DEFAULT-VALUE}.")
  int maxConnections;

  @Option(
      names = "--max-streams-per-client",
      paramLabel = "NUM",
      defaultValue = "64",
      converter = Count.class,
      description =
          "NAR downloads and uploads in flight at once from one client IP address; one more is"
              + " answered 503 with Retry-After (narinfos and misses are never refused). Behind a"
              + " reverse proxy every client has the proxy's address: raise it, or 0 for no limit."
              + " Default: ${DEFAULT-VALUE}.")
  int maxStreamsPerClient;

  @Option(
      names = "--max-request-line",
      paramLabel = "SIZE",
      defaultValue = "8KiB",
      converter = SizeConverter.class,
      description =
          "Longest request line (method, path, version) accepted; longer is a 414. Default:"
              + " ${DEFAULT-VALUE}.")
  long maxRequestLine;

  @Option(
      names = "--max-header-size",
      paramLabel = "SIZE",
      defaultValue = "16KiB",
      converter = SizeConverter.class,
      description =
          "Largest request header block accepted; larger is a 431. Default: ${DEFAULT-VALUE}.")
  long maxHeaderSize;

  @Option(
      names = "--shutdown-grace",
      paramLabel = "DURATION",
      defaultValue = "30s",
      converter = DurationConverter.class,
      description =
          "On SIGTERM, stop accepting and let requests in flight finish for up to this long."
              + " Default: ${DEFAULT-VALUE}.")
  Duration shutdownGrace;

  @Option(
      names = "--layer-cache-entries",
      paramLabel = "NUM",
      defaultValue = "100000",
      converter = Count.class,
      description =
          "Most key-to-layer answers cached (per registry, repository, key and credential; 0"
              + " disables the cache). Default: ${DEFAULT-VALUE}.")
  int layerCacheEntries;

  @Option(
      names = "--layer-cache-ttl",
      paramLabel = "DURATION",
      defaultValue = "5m",
      converter = DurationConverter.class,
      description =
          "How long a key found in the registry is trusted without asking again (a PUT through"
              + " this server refreshes it at once). Default: ${DEFAULT-VALUE}.")
  Duration layerCacheTtl;

  @Option(
      names = "--layer-cache-negative-ttl",
      paramLabel = "DURATION",
      defaultValue = "5s",
      converter = DurationConverter.class,
      description =
          "How long a key missing from the registry is trusted to stay missing. Default:"
              + " ${DEFAULT-VALUE}.")
  Duration layerCacheNegativeTtl;

  @Option(
      names = "--blob-cache-size",
      paramLabel = "SIZE",
      defaultValue = "64MiB",
      converter = SizeConverter.class,
      description =
          "Memory for small blobs (narinfos, listings) kept by digest, so warm narinfo GETs make"
              + " no registry request (0 disables). Default: ${DEFAULT-VALUE}.")
  long blobCacheSize;

  @Option(
      names = "--small-blob-size",
      paramLabel = "SIZE",
      defaultValue = "64KiB",
      converter = SizeConverter.class,
      description =
          "Blobs up to this size are cached whole; larger ones (NARs) are streamed. Default:"
              + " ${DEFAULT-VALUE}.")
  long smallBlobSize;

  @Option(
      names = "--no-prefetch",
      description =
          "Do not warm the caches ahead of Nix. By default a narinfo fetched from the registry"
              + " makes the server fetch, in the background and with the same credentials, the"
              + " narinfos of its References (and theirs, down the closure), a HEAD of a narinfo"
              + " fetches its bytes, and a narinfo served resolves its NAR's layer: Nix's next"
              + " requests are then answered from memory. A failed prefetch is forgotten.")
  boolean noPrefetch;

  @Option(
      names = "--prefetch-concurrency",
      paramLabel = "NUM",
      defaultValue = "16",
      converter = PrefetchConcurrency.class,
      description = "Background prefetches running at once (1 to 1024). Default: ${DEFAULT-VALUE}.")
  int prefetchConcurrency;

  @Option(
      names = "--prefetch-queue",
      paramLabel = "NUM",
      defaultValue = "4096",
      converter = PrefetchQueue.class,
      description =
          "Prefetches waiting for a turn (0 to 1048576); one more is dropped, never waited for."
              + " Default: ${DEFAULT-VALUE}.")
  int prefetchQueue;

  /** From 1 to 1024. */
  static final class PrefetchConcurrency extends Bounded {
    PrefetchConcurrency() {
      super(1, 1024);
    }
  }

  /** From 0 to 1048576. */
  static final class PrefetchQueue extends Bounded {
    PrefetchQueue() {
      super(0, 1 << 20);
    }
  }

  @Option(
      names = "--upstream-timeout",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description = "Connect and answer timeout of one upstream check. Default: ${DEFAULT-VALUE}.")
  Duration upstreamTimeout;

  @Option(
      names = "--upstream-cache-ttl",
      paramLabel = "DURATION",
      defaultValue = "10m",
      converter = DurationConverter.class,
      description = "How long an upstream's \"I have it\" is trusted. Default: ${DEFAULT-VALUE}.")
  Duration upstreamCacheTtl;

  @Option(
      names = "--upstream-cache-negative-ttl",
      paramLabel = "DURATION",
      defaultValue = "1m",
      converter = DurationConverter.class,
      description = "How long \"no upstream has it\" is trusted. Default: ${DEFAULT-VALUE}.")
  Duration upstreamCacheNegativeTtl;

  // --- S3 multipart uploads --------------------------------------------------------------------

  @Option(
      names = "--multipart-spool-dir",
      paramLabel = "DIR",
      defaultValue = "${sys:java.io.tmpdir}/oranc-multipart",
      description =
          "Where parts of S3 multipart uploads that arrive before their turn wait (the server makes"
              + " a directory of its own inside, removed at exit). Put it on a disk, not a tmpfs."
              + " Default: ${DEFAULT-VALUE}.")
  Path multipartSpoolDir;

  @Option(
      names = "--multipart-spool-size",
      paramLabel = "SIZE",
      defaultValue = "1GiB",
      converter = SizeConverter.class,
      description =
          "Disk space for those parts in all; a part over it is answered 503 SlowDown (clients"
              + " send it again later). Default: ${DEFAULT-VALUE}.")
  long multipartSpoolSize;

  @Option(
      names = "--multipart-expiry",
      paramLabel = "DURATION",
      defaultValue = "1h",
      converter = DurationConverter.class,
      description =
          "An S3 multipart upload untouched this long is aborted: its registry session is"
              + " cancelled and its spooled parts deleted. Default: ${DEFAULT-VALUE}.")
  Duration multipartExpiry;

  @Option(
      names = "--max-multipart-uploads-per-client",
      paramLabel = "NUM",
      defaultValue = "100",
      converter = UploadsPerClient.class,
      description =
          "S3 multipart uploads in progress at once per client, counted both by credentials and"
              + " by IP address (an IPv6 one by its /64; anonymous clients share one allowance);"
              + " one more is answered 503 SlowDown until one completes, is aborted or expires. The"
              + " server holds at most 10000 in all. Behind a reverse proxy every client has the"
              + " proxy's address: raise it. Default: ${DEFAULT-VALUE}.")
  int maxMultipartUploadsPerClient;

  @Option(
      names = "--max-pending-publishes",
      paramLabel = "NUM",
      defaultValue = "1024",
      converter = PendingPublishesBound.class,
      description =
          "A PUT of a NAR (nar/...) is answered as soon as its blob is in the registry, and its"
              + " image is published after the answer; a narinfo PUT naming it waits for that"
              + " publish (and is refused if it failed). At most NUM such publishes run at once;"
              + " beyond that a PUT is answered after its publish. 0 answers every PUT after its"
              + " publish. Default: ${DEFAULT-VALUE}.")
  int maxPendingPublishes;

  @Option(
      names = "--upload-sessions-ahead",
      paramLabel = "NUM",
      defaultValue = "4",
      converter = SessionsAheadBound.class,
      description =
          "Registry upload sessions kept open ahead per repository and credentials (after an upload"
              + " with them succeeded; each kept at most 60 s), so that a small PUT's blob waits on"
              + " one registry round trip instead of two (nix copy uses 4 per path: its NAR,"
              + " narinfo and their configs). 0 opens each when needed. Default: ${DEFAULT-VALUE}.")
  int uploadSessionsAhead;

  /** From 0 (off) to 8. */
  static final class SessionsAheadBound extends Bounded {
    SessionsAheadBound() {
      super(0, 8);
    }
  }

  /** From 0 (answer after publishing) to 65536. */
  static final class PendingPublishesBound extends Bounded {
    PendingPublishesBound() {
      super(0, 65_536);
    }
  }

  /** From 1 to the server's bound on uploads in progress. */
  static final class UploadsPerClient extends Bounded {
    UploadsPerClient() {
      super(1, MultipartUploads.MAX_UPLOADS);
    }
  }

  // --- answers a cache in front may keep (Cache-Control; see docs/SERVER.md) --------------------

  @Option(
      names = "--max-age-narinfo",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description =
          "How long a cache in front (nginx proxy_cache, a CDN) may keep an anonymous answer for a"
              + " narinfo, nix-cache-info or any key outside nar/ (Cache-Control: public, max-age)."
              + " NARs are immutable (a year); answers to requests with credentials are private;"
              + " 0: never stored. Default: ${DEFAULT-VALUE}.")
  Duration maxAgeNarinfo;

  @Option(
      names = "--max-age-not-found",
      paramLabel = "DURATION",
      defaultValue = "0s",
      converter = DurationConverter.class,
      description =
          "How long a cache in front may keep an anonymous 404 (0: never stored; a stored 404 hides"
              + " a path pushed since from everyone behind the cache). Default: ${DEFAULT-VALUE}.")
  Duration maxAgeNotFound;

  // --- NAR redirects (see docs/SERVER.md) --------------------------------------------------------

  @Option(
      names = "--nar-redirect",
      description =
          "Answer a NAR's GET with 307 to where the registry keeps its blob (ghcr.io: a presigned"
              + " storage URL), fetched with the request's own credentials, so the NAR's bytes go"
              + " from storage to the client, not through this server. A registry that serves the"
              + " bytes itself is relayed as without it. HEAD, Range GETs and S3-signed requests"
              + " are answered as without it. Off by default.")
  boolean narRedirect;

  @Option(
      names = "--nar-redirect-ttl",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description =
          "With --nar-redirect: how long a storage URL that does not say when it expires is handed"
              + " out again to the same credentials (a URL that says is kept for half its remaining"
              + " life, at most 5m). At most 5m. Default: ${DEFAULT-VALUE}.")
  Duration narRedirectTtl;

  @Spec CommandSpec spec;

  ServerConfig config() {
    if (smallBlobSize > 16L << 20) {
      throw new IllegalArgumentException(
          "--small-blob-size: " + smallBlobSize + " bytes (expected: at most 16MiB)");
    }
    requireSize("--max-request-line", maxRequestLine, 256, 1L << 20);
    requireSize("--max-header-size", maxHeaderSize, 1024, 1L << 20);
    requireMaxAge("--max-age-narinfo", maxAgeNarinfo);
    requireMaxAge("--max-age-not-found", maxAgeNotFound);
    if (narRedirectTtl.isZero()
        || narRedirectTtl.isNegative()
        || narRedirectTtl.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException(
          "--nar-redirect-ttl: "
              + narRedirectTtl.toMillis()
              + "ms (expected: more than 0, at most 5m)");
    }
    return ServerConfig.builder()
        .listen(listen)
        .repositoryParts(repositoryParts)
        .codec(encoding.codec())
        .registry(registryConfig())
        .allowRegistries(allowRegistries)
        .upstreams(upstreams)
        .ignoreUpstream(ignoreUpstream)
        .upstreamAnonymous(upstreamAnonymous)
        .threads(threads)
        .idleTimeout(idleTimeout)
        .shutdownGrace(shutdownGrace)
        .maxConnections(maxConnections)
        .maxStreamsPerClient(maxStreamsPerClient)
        .maxPendingPublishes(maxPendingPublishes)
        .uploadSessionsAhead(uploadSessionsAhead)
        .maxInitialLineLength((int) maxRequestLine)
        .maxHeaderSize((int) maxHeaderSize)
        .layerCacheEntries(layerCacheEntries)
        .layerCacheTtl(layerCacheTtl)
        .layerCacheNegativeTtl(layerCacheNegativeTtl)
        .blobCacheBytes(blobCacheSize)
        .smallBlobBytes((int) smallBlobSize)
        .prefetchConcurrency(noPrefetch ? 0 : prefetchConcurrency)
        .prefetchQueue(prefetchQueue)
        .upstreamTimeout(upstreamTimeout)
        .upstreamCacheTtl(upstreamCacheTtl)
        .upstreamCacheNegativeTtl(upstreamCacheNegativeTtl)
        .multipartSpoolDir(multipartSpoolDir)
        .multipartSpoolBytes(multipartSpoolSize)
        .multipartExpiry(multipartExpiry)
        .maxMultipartUploadsPerClient(maxMultipartUploadsPerClient)
        .maxAgeNarinfo(maxAgeNarinfo)
        .maxAgeNotFound(maxAgeNotFound)
        .narRedirect(narRedirect)
        .narRedirectTtl(narRedirectTtl)
        .build();
  }

  private static void requireSize(String flag, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          flag + ": " + value + " bytes (expected: from " + min + " to " + max + ")");
    }
  }

  private static void requireMaxAge(String flag, Duration value) {
    if (value.compareTo(Duration.ofDays(365)) > 0 || value.toMillis() % 1000 != 0) {
      throw new IllegalArgumentException(
          flag + ": " + value.toMillis() + "ms (expected: whole seconds, at most 365 days)");
    }
  }

  private RegistryClientConfig registryConfig() {
    int chunk = upload.chunkBytes();
    RegistryClientConfig.Builder b =
        RegistryClientConfig.builder()
            .tls(!noSsl)
            .insecureRegistries(insecureRegistries)
            .retryBudget(maxRetry)
            .uploadChunkBytes(chunk);
    int monolithic = RegistryClientConfig.builder().build().monolithicUploadBytes();
    return b.monolithicUploadBytes(chunk == 0 ? monolithic : Math.min(monolithic, chunk)).build();
  }

  @Override
  public Integer call() throws InterruptedException {
    ServerConfig config = config();
    OrancServer server;
    try {
      server = OrancServer.start(config);
    } catch (ServerStartException e) {
      spec.commandLine().getErr().println("oranc server: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return ExecutionErrors.EXIT_FAILURE;
    }
    // SIGTERM and SIGINT run shutdown hooks: drain, then exit 0.
    Thread hook =
        new Thread(
            () -> {
              server.close();
              // Last: write out the access log's queue (logback.xml makes it asynchronous).
              ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
            },
            "oranc-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    server.awaitClose();
    return 0;
  }

  /** A registry pattern ({@link HostPattern}); a bad one is a usage error naming it. */
  static final class RegistryPattern implements ITypeConverter<HostPattern> {
    @Override
    public HostPattern convert(String value) {
      try {
        return HostPattern.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /** A whole number from 0 up. */
  static final class Count extends Bounded {
    Count() {
      super(0, Integer.MAX_VALUE);
    }
  }

  /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}; a bare number is seconds. */
  static final class DurationConverter implements ITypeConverter<Duration> {
    private static final Pattern FORM = Pattern.compile("(\\d{1,9})(ms|s|m|h)?");

    @Override
    public Duration convert(String value) {
      Matcher m = FORM.matcher(value.trim().toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        throw new TypeConversionException(
            "'" + value + "' is not a duration (expected e.g. 500ms, 30s, 5m or 1h)");
      }
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2);
      return switch (unit) {
        case "ms" -> Duration.ofMillis(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofSeconds(n);
      };
    }
  }

  /** {@code 512}, {@code 64KiB}, {@code 64MiB}, {@code 1GiB} (also KB/MB/GB, as powers of 1024). */
  static final class SizeConverter implements ITypeConverter<Long> {
    private static final Pattern FORM =
        Pattern.compile("(\\d{1,12})\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

    @Override
    public Long convert(String value) {
      Matcher m = FORM.matcher(value.trim().toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        throw new TypeConversionException(
            "'" + value + "' is not a size (expected e.g. 65536, 64KiB, 64MiB or 1GiB)");
      }
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "b" : m.group(2);
      int shift =
          switch (unit.charAt(0)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            default -> 0;
          };
      if (n > (Long.MAX_VALUE >> shift)) {
        throw new TypeConversionException("'" + value + "' is too large");
      }
      return n << shift;
    }
  }
}
