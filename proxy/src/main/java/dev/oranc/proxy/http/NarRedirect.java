package dev.oranc.proxy.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.BlobDownload;
import dev.oranc.common.registry.BlobLocation;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.Failures;
import dev.oranc.proxy.request.Responses;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --nar-redirect}: a NAR's {@code GET} answered {@code 307} to where the registry keeps the
 * blob (a presigned storage URL), so the NAR's bytes go from storage to the client, not through
 * this server.
 *
 * <p>Design note. {@link DownloadHandler} asks {@link #applies} once the key is resolved for the
 * request's credentials (so the registry has said this caller may read the key), and if so hands
 * the rest of the GET to {@link #answer}:
 *
 * <ol>
 *   <li><b>Remembered.</b> A URL already handed out for (registry, repository, digest, credential
 *       scope) is handed out again, with no registry request. The scope is {@link
 *       Credentials#fingerprint()}, as in {@code LayerCache}: a URL fetched with user B's
 *       credentials is never given to user A, nor to an anonymous request.
 *   <li><b>One registry request.</b> Otherwise one {@code GET} of the blob with the request's own
 *       credentials that does not follow redirects ({@link OciBinaryCache#locate}). A registry that
 *       serves the bytes itself (the CNCF registry on a filesystem) answers 200 and that very
 *       answer is relayed ({@link Answer.Relay}): never a second request where one will do. A
 *       redirect's small body is read so the connection goes back to the pool.
 *   <li><b>What may be handed out</b> ({@link #decide}). The {@code Location} must be absolute
 *       {@code http(s)}, carry no user information, and be https unless the registry itself is
 *       plain http (a registry allowed with {@code --insecure-registry} or {@code --no-ssl}): an
 *       https registry's redirect to plain http is refused (502), as {@code CallRunner} refuses to
 *       follow one, since the URL is a bearer credential for the blob. A redirect to the registry's
 *       own origin is not handed out (the client would need our credentials there): it is followed
 *       and relayed ({@link Answer.Follow}). The registry's credentials are never in a URL: the
 *       client sends them as a header, which the registry does not echo into a {@code Location}; a
 *       {@code user:password@} would be, and is refused.
 *   <li><b>How long it is remembered</b> ({@link #remembered}). Presigned URLs say when they
 *       expire: {@code X-Expires}/{@code Expires} (epoch seconds), S3 SigV4 {@code
 *       X-Amz-Date}+{@code X-Amz-Expires}, GCS {@code X-Goog-Date}+{@code X-Goog-Expires}, Azure
 *       SAS {@code se} (ghcr.io's storage). A URL is remembered for half of what is left of its
 *       life (judged on the registry's clock, its {@code Date}, else ours), at most {@link
 *       #MAX_REMEMBERED}, and not at all when less than {@link #MIN_REMEMBERED} would be left: a
 *       client handed it at the end of that time still has as long again to start its download. A
 *       URL that says nothing is remembered for {@code --nar-redirect-ttl}. The cache is bounded
 *       ({@link #MAX_ENTRIES}) and expires on the server's {@link Ticker}. Concurrent first asks
 *       for one NAR are not merged (no single flight, unlike {@code LayerCache}): an answer may be
 *       a 200 stream, which only one client can take, and Nix fetches a NAR once.
 * </ol>
 *
 * <p>What is not redirected: {@code HEAD} (answered here from the manifest: storage URLs are
 * presigned for {@code GET} and refuse {@code HEAD}), a {@code Range} GET (relayed: the server
 * checks the registry's {@code Content-Range} against the range, where storage's handling of ranges
 * is its own, and resumed downloads are rare), an S3-signed request ({@code aws s3 cp} and the SDKs
 * treat a 307 as an S3 region redirect, not as the object), and keys outside {@code nar/} (narinfos
 * are small and hot; the small-blob cache serves them).
 *
 * <p>The 307 itself gets {@code Cache-Control: no-store} and {@code Vary: Authorization} from
 * {@link CacheHeaders} (a status it does not cache), so a shared cache never keeps one user's
 * presigned URL for another, nor a URL past its life.
 */
public final class NarRedirect {

  private static final Logger log = LoggerFactory.getLogger(NarRedirect.class);

  /** The most a URL is remembered, whatever its expiry says (as long as a resolved key is). */
  static final Duration MAX_REMEMBERED = Duration.ofMinutes(5);

  /** Below this, a URL is handed out but not remembered. */
  static final Duration MIN_REMEMBERED = Duration.ofSeconds(5);

  /** URLs remembered at most: about 1 KiB each (ghcr.io's are ~600 characters). */
  static final long MAX_ENTRIES = 10_000;

  /** What {@link #answer} came to. */
  sealed interface Answer permits Answer.Redirect, Answer.Relay, Answer.Follow {
    /** Send the client to {@code location}; {@code remembered}: no registry request was made. */
    record Redirect(URI location, boolean remembered) implements Answer {
      @Override
      public String toString() {
        return "Redirect["
            + location.getScheme()
            + "://"
            + location.getRawAuthority()
            + location.getRawPath()
            + "?…, remembered "
            + remembered
            + "]";
      }
    }

    /** The registry serves the bytes itself: relay this download (or cancel it). */
    record Relay(BlobDownload download) implements Answer {}

    /** Relay as without {@code --nar-redirect} (the registry redirected to itself). */
    record Follow() implements Answer {}
  }

  /** What a redirect comes to: hand it out, follow it ourselves, or refuse it. */
  sealed interface Decision permits Decision.Hand, Decision.Follow, Decision.Refuse {
    record Hand(URI location) implements Decision {}

    record Follow() implements Decision {}

    record Refuse(String reason) implements Decision {}
  }

  record Key(String registry, String repository, String digest, String scope) {}

  private record Remembered(URI location, long nanos) {}

  private final boolean enabled;
  private final OciBinaryCache registry;
  private final ServerMetrics metrics;
  private final Duration ttl;
  private final Clock clock;
  private final Cache<Key, Remembered> urls;

  public NarRedirect(
      boolean enabled,
      OciBinaryCache registry,
      ServerMetrics metrics,
      Duration ttl,
      Ticker ticker,
      Clock clock) {
    this.enabled = enabled;
    this.registry = registry;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.ttl = Objects.requireNonNull(ttl, "ttl");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.urls =
        Caffeine.newBuilder()
            .maximumSize(MAX_ENTRIES)
            .ticker(ticker)
            .recordStats()
            .expireAfter(
                new Expiry<Key, Remembered>() {
                  @Override
                  public long expireAfterCreate(Key k, Remembered v, long now) {
                    return v.nanos();
                  }

                  @Override
                  public long expireAfterUpdate(Key k, Remembered v, long now, long current) {
                    return v.nanos();
                  }

                  @Override
                  public long expireAfterRead(Key k, Remembered v, long now, long current) {
                    return current;
                  }
                })
            .build();
  }

  /** Whether a GET is answered here: see the class comment for what is not. */
  boolean applies(String key, boolean s3, ByteRange range) {
    return enabled && range == null && !s3 && key.startsWith(CacheHeaders.NAR_PREFIX);
  }

  CompletableFuture<Answer> answer(
      RepositoryRef repo, StoredFile file, Credentials credentials, EventLoop loop) {
    Key key =
        new Key(
            repo.registry(),
            repo.repository(),
            file.digest().toString(),
            credentials.fingerprint());
    Remembered hit = urls.getIfPresent(key);
    if (hit != null) {
      return CompletableFuture.completedFuture(new Answer.Redirect(hit.location(), true));
    }
    return Failures.timed(
            metrics, "blob_locate", Failures.call(() -> registry.locate(file, credentials, loop)))
        .thenApply(location -> toAnswer(key, repo, file, location));
  }

  private Answer toAnswer(Key key, RepositoryRef repo, StoredFile file, BlobLocation location) {
    if (location instanceof BlobLocation.Here here) {
      return new Answer.Relay(here.download());
    }
    BlobLocation.Elsewhere elsewhere = (BlobLocation.Elsewhere) location;
    Decision d = decide(elsewhere.location(), elsewhere.registry());
    if (d instanceof Decision.Refuse refuse) {
      log.warn(
          "GET blob {}@{}: {} redirect not handed out: {}",
          repo,
          file.digest(),
          elsewhere.status(),
          refuse.reason());
      throw new RegistryException.Protocol(
          "GET blob " + repo + "@" + file.digest(),
          "the registry's redirect cannot be handed out: " + refuse.reason());
    }
    if (d instanceof Decision.Follow) {
      return new Answer.Follow();
    }
    URI target = ((Decision.Hand) d).location();
    Instant now = elsewhere.date() != null ? elsewhere.date() : clock.instant();
    Duration life = remembered(target, now, ttl);
    if (!life.isZero()) {
      urls.put(key, new Remembered(target, life.toNanos()));
    }
    return new Answer.Redirect(target, false);
  }

  /** The 307 for {@code redirect}: no body; the cache headers are {@link CacheHeaders}'. */
  static FullHttpResponse response(Answer.Redirect redirect) {
    FullHttpResponse r = Responses.empty(HttpResponseStatus.TEMPORARY_REDIRECT);
    r.headers().set(HttpHeaderNames.LOCATION, redirect.location().toASCIIString());
    return r;
  }

  /**
   * Whether a registry's redirect to {@code location} may be given to a client.
   *
   * @param registry the registry's origin ({@code scheme://host[:port]})
   */
  static Decision decide(URI location, URI registry) {
    String scheme =
        location.getScheme() == null ? "" : location.getScheme().toLowerCase(Locale.ROOT);
    if (!location.isAbsolute()
        || !(scheme.equals("https") || scheme.equals("http"))
        || location.getHost() == null) {
      return new Decision.Refuse("not an absolute http(s) URL");
    }
    if (location.getRawUserInfo() != null) {
      return new Decision.Refuse("the URL carries user information");
    }
    boolean registryTls = "https".equalsIgnoreCase(registry.getScheme());
    if (registryTls && scheme.equals("http")) {
      return new Decision.Refuse("an https registry redirected to plain http");
    }
    if (sameOrigin(location, registry)) {
      return new Decision.Follow();
    }
    return new Decision.Hand(location);
  }

  private static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  /**
   * How long a URL handed out at {@code now} is handed out again: see the class comment. {@code
   * ttl} when it says nothing of its expiry.
   */
  static Duration remembered(URI location, Instant now, Duration ttl) {
    Optional<Instant> expiry = expiry(location);
    if (expiry.isEmpty()) {
      return ttl;
    }
    Duration half = Duration.between(now, expiry.get()).dividedBy(2);
    if (half.compareTo(MIN_REMEMBERED) < 0) {
      return Duration.ZERO;
    }
    return half.compareTo(MAX_REMEMBERED) > 0 ? MAX_REMEMBERED : half;
  }

  private static final DateTimeFormatter BASIC_DATE_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");

  /**
   * When a presigned URL expires, by the parameters the stores use; the earliest when several say;
   * empty when none does or one cannot be read (then the URL is treated as saying nothing).
   */
  static Optional<Instant> expiry(URI location) {
    String query = location.getRawQuery();
    if (query == null) {
      return Optional.empty();
    }
    String amzDate = null;
    String amzExpires = null;
    String googDate = null;
    String googExpires = null;
    Instant earliest = null;
    try {
      for (String pair : query.split("&")) {
        int eq = pair.indexOf('=');
        if (eq < 0) {
          continue;
        }
        String name =
            URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8)
                .toLowerCase(Locale.ROOT);
        String value = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8).trim();
        Instant at = null;
        switch (name) {
          case "x-expires", "expires" -> at = Instant.ofEpochSecond(Long.parseLong(value));
          case "se" -> at = azureTime(value);
          case "x-amz-date" -> amzDate = value;
          case "x-amz-expires" -> amzExpires = value;
          case "x-goog-date" -> googDate = value;
          case "x-goog-expires" -> googExpires = value;
          default -> {}
        }
        earliest = earlier(earliest, at);
      }
      if (amzDate != null && amzExpires != null) {
        earliest = earlier(earliest, basic(amzDate).plusSeconds(Long.parseLong(amzExpires)));
      }
      if (googDate != null && googExpires != null) {
        earliest = earlier(earliest, basic(googDate).plusSeconds(Long.parseLong(googExpires)));
      }
    } catch (DateTimeParseException | IllegalArgumentException | ArithmeticException e) {
      return Optional.empty();
    }
    return Optional.ofNullable(earliest);
  }

  private static Instant earlier(Instant a, Instant b) {
    if (a == null) {
      return b;
    }
    return b == null || a.isBefore(b) ? a : b;
  }

  private static Instant basic(String value) {
    return LocalDateTime.parse(value, BASIC_DATE_TIME).toInstant(ZoneOffset.UTC);
  }

  /** Azure SAS {@code se}: an ISO 8601 UTC time, or a date (its midnight). */
  private static Instant azureTime(String value) {
    if (value.length() == 10) {
      return LocalDate.parse(value).atStartOfDay(ZoneOffset.UTC).toInstant();
    }
    return OffsetDateTime.parse(value).toInstant();
  }

  public CacheStats stats() {
    return urls.stats();
  }

  public long size() {
    return urls.estimatedSize();
  }
}
