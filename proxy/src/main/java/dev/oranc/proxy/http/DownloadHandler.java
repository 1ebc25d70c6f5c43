package dev.oranc.proxy.http;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.BlobDownload;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.request.Failures;
import dev.oranc.proxy.request.RequestHandler;
import dev.oranc.proxy.request.Responses;
import dev.oranc.proxy.request.RoutedRequest;
import dev.oranc.proxy.route.Route;
import dev.oranc.proxy.upstream.UpstreamChecker;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET} and {@code HEAD} of a cache file.
 *
 * <ol>
 *   <li>Upstream check (when it applies, see {@link UpstreamChecker#applies}): a key an upstream
 *       has is a {@code 302} to it.
 *   <li>Resolve the key to its layer for this request's credentials ({@link LayerCache}: cached,
 *       single-flight). Only a registry "not found" for every tag is a 404; a failure is the
 *       failure's status.
 *   <li>{@code HEAD}: the layer's size, type and encoding, no body.
 *   <li>{@code GET} of a small blob: from {@link BlobCache} by repository and digest, fetched whole
 *       (and checked against the digest) on a miss. Consulted only now, after step 2 succeeded for
 *       these credentials.
 *   <li>{@code GET} of a large blob: relayed from the registry ({@link BlobRelay}).
 * </ol>
 *
 * With {@code --nar-redirect}, a {@code GET} of a NAR (no range, not S3-signed) leaves after step 2
 * for {@link NarRedirect}: a {@code 307} to the registry's storage, or the registry's own answer
 * relayed.
 *
 * <p>A {@code Range} (one byte range, see {@link ByteRange}) is answered 206 with {@code
 * Content-Range}: a small blob's cached bytes are sliced, a large blob's range is asked of the
 * registry (and cut from its whole answer if it ignores the range), so an interrupted download of a
 * large NAR resumes where it stopped. Every answer says {@code Accept-Ranges: bytes}.
 *
 * <p>Every file answer carries an {@code ETag}, the blob's digest: content-addressed, so a strong
 * validator, which {@code If-Range} may name and which a matching {@code If-None-Match} turns into
 * a {@code 304} with the answer's headers and no body (a cache in front revalidates a narinfo that
 * way; {@link CacheHeaders} says how long it may keep one). An S3-signed request also gets what S3
 * clients expect of HeadObject and GetObject: a {@code Last-Modified}. The image keeps no date, and
 * a key's file only ever changes by being replaced, so it is a fixed one, the epoch; {@code aws s3
 * cp} refuses a download without it.
 *
 * <p>Registry calls run on this channel's event loop (the client pools connections per loop), and
 * every callback hops back to it before touching the channel. A callback runs inside a future's
 * completion, where a throw would be lost and the client left waiting with no access-log line and
 * no idle timeout (the exchange waits "on the server"); so each runs guarded ({@link
 * RequestHandler.Request#onLoop}): whatever it throws fails the download like any error, a 500
 * before the head and a closed connection after it. A body (GET and HEAD have none) is dropped.
 */
public final class DownloadHandler extends RequestHandler {

  private static final Logger log = LoggerFactory.getLogger(DownloadHandler.class);

  private final Backend backend;
  private final StreamLimiter streams;
  private final NarRedirect narRedirect;

  DownloadHandler(Backend backend, StreamLimiter streams) {
    this(backend, streams, null);
  }

  /**
   * @param narRedirect null: {@code --nar-redirect} is off
   */
  public DownloadHandler(Backend backend, StreamLimiter streams, NarRedirect narRedirect) {
    super(log);
    this.backend = backend;
    this.streams = streams;
    this.narRedirect = narRedirect;
  }

  @Override
  protected Request accept(ChannelHandlerContext ctx, RoutedRequest routed) {
    if (routed.route() instanceof Route.File file && file.method() != Route.Method.PUT) {
      return new Download(ctx, file, routed.request());
    }
    return null;
  }

  /** What S3-signed requests are told for {@code Last-Modified}: see the class comment. */
  static final String S3_LAST_MODIFIED = "Thu, 01 Jan 1970 00:00:00 GMT";

  static String etag(StoredFile file) {
    return "\"" + file.digest().hex() + "\"";
  }

  static void fileHeaders(HttpHeaders headers, StoredFile file, boolean s3) {
    headers.set(HttpHeaderNames.ETAG, etag(file));
    if (s3) {
      headers.set(HttpHeaderNames.LAST_MODIFIED, S3_LAST_MODIFIED);
    }
    headers.set(HttpHeaderNames.CONTENT_TYPE, file.contentType());
    headers.set(HttpHeaderNames.CONTENT_LENGTH, file.size());
    headers.set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    if (file.contentEncoding() != null) {
      headers.set(HttpHeaderNames.CONTENT_ENCODING, file.contentEncoding());
    }
  }

  /** One GET or HEAD, from its head to its last byte. */
  private final class Download extends Request {
    final Route.File route;
    final RepositoryRef repo;
    final String key;
    final Credentials credentials;
    BlobRelay relay;

    /** Held from the decision to stream until the relay has ended, however it ends. */
    StreamLimiter.Permit permit;

    Download(ChannelHandlerContext ctx, Route.File route, HttpRequest request) {
      super(ctx, request);
      this.route = route;
      this.repo = route.repository();
      this.key = route.key();
      this.credentials = route.credentials();
    }

    boolean live() {
      return !isAnswered() && ctx.channel().isActive();
    }

    @Override
    protected void start() {
      UpstreamChecker upstream = backend.upstream();
      if (upstream.applies(key, credentials)) {
        upstream.check(key).whenComplete((lookup, error) -> onLoop(() -> afterUpstream(lookup)));
      } else {
        resolve();
      }
    }

    void afterUpstream(UpstreamChecker.Lookup lookup) {
      if (!live()) {
        return;
      }
      if (lookup != null && lookup.location().isPresent()) {
        logNote("upstream");
        FullHttpResponse r = Responses.empty(HttpResponseStatus.FOUND);
        r.headers().set(HttpHeaderNames.LOCATION, lookup.location().get().toASCIIString());
        respond(r);
        return;
      }
      resolve();
    }

    void resolve() {
      // A NAR whose PUT was answered while its image is still going up: wait, rather than 404.
      CompletableFuture<Void> publishing = backend.pending().pending(repo, key);
      if (publishing != null) {
        publishing.whenComplete(
            (v, e) ->
                onLoop(
                    () -> {
                      if (live()) {
                        resolve();
                      }
                    }));
        return;
      }
      backend
          .layers()
          .get(
              repo,
              key,
              credentials,
              () ->
                  Failures.timed(
                      backend.metrics(),
                      "resolve",
                      Failures.call(() -> backend.registry().find(repo, key, credentials, loop))))
          .whenComplete((lookup, error) -> onLoop(() -> afterResolve(lookup, error)));
    }

    void afterResolve(LayerCache.Lookup lookup, Throwable error) {
      if (!live()) {
        return;
      }
      if (error != null) {
        fail(Causes.of(error));
        return;
      }
      logLayer(lookup.hit() ? "hit" : "miss");
      if (lookup.file().isEmpty()) {
        fail(
            new RegistryException.NotFound(
                "GET " + repo + " key " + key, "no tag of the key exists"));
        return;
      }
      StoredFile file = lookup.file().get();
      if (CacheHeaders.ifNoneMatch(
          request.headers().get(HttpHeaderNames.IF_NONE_MATCH), etag(file))) {
        // Before Range (RFC 9110 §13.2.2): the client, or a cache revalidating, has these bytes.
        FullHttpResponse r = Responses.empty(HttpResponseStatus.NOT_MODIFIED);
        fileHeaders(r.headers(), file, signedForS3());
        respond(r);
        return;
      }
      if (route.method() == Route.Method.HEAD) {
        backend.prefetch().headResolved(repo, key, file, credentials, loop); // Nix GETs it next
        FullHttpResponse r = Responses.empty(HttpResponseStatus.OK);
        fileHeaders(r.headers(), file, signedForS3());
        respond(r);
        return;
      }
      ByteRange range;
      try {
        String ifRange = request.headers().get(HttpHeaderNames.IF_RANGE);
        if (ifRange != null && ifRange.trim().equals(etag(file))) {
          ifRange = null; // it names this very content: the range stands
        }
        range =
            ByteRange.parse(request.headers().get(HttpHeaderNames.RANGE), ifRange, file.size())
                .orElse(null);
      } catch (RequestRejected.RangeNotSatisfiable e) {
        fail(e);
        return;
      }
      if (narRedirect != null && narRedirect.applies(key, signedForS3(), range)) {
        narRedirect
            .answer(repo, file, credentials, loop)
            .whenComplete((a, e) -> onLoop(() -> afterNarRedirect(file, a, e)));
        return;
      }
      BlobCache blobs = backend.blobs();
      if (blobs.holds(file.size())) {
        blobs
            .get(
                repo,
                file.digest(),
                () ->
                    Failures.timed(
                        backend.metrics(),
                        "blob_get",
                        Failures.call(
                            () ->
                                backend
                                    .registry()
                                    .read(file, blobs.maxBlobBytes(), credentials, loop))))
            .whenComplete((b, e) -> onLoop(() -> afterSmallBlob(file, range, b, e)));
      } else {
        permit = streams.tryAcquire(ctx.channel());
        if (permit == null) {
          backend.metrics().streamRefused();
          fail(new RequestRejected.TooBusy(streams.max()));
          return;
        }
        logBody("stream");
        String rangeHeader = range == null ? null : range.header();
        Failures.timed(
                backend.metrics(),
                "blob_open",
                Failures.call(() -> backend.registry().open(file, rangeHeader, credentials, loop)))
            .whenComplete((d, e) -> onLoop(() -> afterBlobOpened(file, range, d, e)));
      }
    }

    /**
     * {@code --nar-redirect}: a 307, or a relay as below (of the answer in hand when there is one).
     */
    void afterNarRedirect(StoredFile file, NarRedirect.Answer answer, Throwable error) {
      BlobDownload download = answer instanceof NarRedirect.Answer.Relay r ? r.download() : null;
      if (!live()) {
        if (download != null) {
          download.cancel();
        }
        return;
      }
      if (error != null) {
        fail(Causes.of(error));
        return;
      }
      if (answer instanceof NarRedirect.Answer.Redirect redirect) {
        logBody(redirect.remembered() ? "redirect-hit" : "redirect");
        backend.metrics().narRedirected();
        respond(NarRedirect.response(redirect));
        return;
      }
      permit = streams.tryAcquire(ctx.channel());
      if (permit == null) {
        if (download != null) {
          download.cancel();
        }
        backend.metrics().streamRefused();
        fail(new RequestRejected.TooBusy(streams.max()));
        return;
      }
      logBody("stream");
      if (download != null) {
        afterBlobOpened(file, null, download, null);
        return;
      }
      Failures.timed(
              backend.metrics(),
              "blob_open",
              Failures.call(() -> backend.registry().open(file, null, credentials, loop)))
          .whenComplete((d, e) -> onLoop(() -> afterBlobOpened(file, null, d, e)));
    }

    void afterSmallBlob(
        StoredFile file, ByteRange range, BlobCache.Lookup lookup, Throwable error) {
      if (!live()) {
        return;
      }
      if (error != null) {
        fail(Causes.of(error));
        return;
      }
      logBody(lookup.hit() ? "hit" : "miss");
      byte[] bytes = lookup.bytes();
      if (bytes.length != file.size()) {
        fail(
            new RegistryException.Protocol(
                "GET blob " + repo + "@" + file.digest(),
                "the blob's size is not the manifest's",
                bytes.length + " bytes, the manifest says " + file.size(),
                null));
        return;
      }
      // Warms what Nix asks next: the NAR's layer, and (when this came from the registry) the
      // References' narinfos.
      backend
          .prefetch()
          .narinfoServed(
              repo, key, bytes, !lookup.hit() || "miss".equals(loggedLayer()), credentials, loop);
      if (range != null) {
        byte[] part = Arrays.copyOfRange(bytes, (int) range.first(), (int) range.last() + 1);
        FullHttpResponse r = Responses.full(HttpResponseStatus.PARTIAL_CONTENT, null, part, false);
        fileHeaders(r.headers(), file, signedForS3());
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, part.length);
        r.headers().set(HttpHeaderNames.CONTENT_RANGE, range.contentRange());
        respond(r);
        return;
      }
      FullHttpResponse r = Responses.full(HttpResponseStatus.OK, null, bytes, false);
      fileHeaders(r.headers(), file, signedForS3());
      countNar(bytes.length);
      respond(r);
    }

    void afterBlobOpened(StoredFile file, ByteRange range, BlobDownload download, Throwable error) {
      if (!live()) {
        if (download != null) {
          download.cancel();
        }
        return;
      }
      if (error != null) {
        fail(Causes.of(error));
        return;
      }
      long announced = download.contentLength();
      // What the registry announced is the log's (the foreign part): the client is told only
      // that it does not fit.
      String problem = null;
      String said = null;
      if (download.status() == 206) {
        String contentRange = download.headers().get(HttpHeaderNames.CONTENT_RANGE);
        if (range == null || contentRange == null || !sameRange(contentRange, range)) {
          problem =
              "the registry answered another range than "
                  + (range == null ? "the whole blob" : "the " + range.header() + " asked for");
          said = "Content-Range " + contentRange;
        } else if (announced >= 0 && announced != range.length()) {
          problem = "the registry announced another length than range " + range.header();
          said = announced + " bytes";
        }
      } else if (announced >= 0 && announced != file.size()) {
        problem = "the registry announced another size than the manifest's";
        said = announced + " bytes, the manifest says " + file.size();
      }
      if (problem != null) {
        download.cancel();
        fail(
            new RegistryException.Protocol(
                "GET blob " + repo + "@" + file.digest(), problem, said, null));
        return;
      }
      relay =
          new BlobRelay(
              ctx,
              download,
              file,
              range,
              signedForS3(),
              backend.metrics(),
              () -> {
                countNar(range == null ? file.size() : range.length());
                answeredDirectly();
              },
              this::fail);
      relay.start();
    }

    /** {@code bytes FIRST-LAST/…} names the same bytes as {@code range}. */
    static boolean sameRange(String contentRange, ByteRange range) {
      String v = contentRange.trim();
      int slash = v.indexOf('/');
      String spec = (slash < 0 ? v : v.substring(0, slash)).trim();
      return spec.equalsIgnoreCase("bytes " + range.first() + "-" + range.last());
    }

    /** A NAR's bytes sent by this server (the metrics compare them with redirected NARs). */
    void countNar(long bytes) {
      if (key.startsWith(CacheHeaders.NAR_PREFIX)) {
        backend.metrics().narRelayed(bytes);
      }
    }

    @Override
    protected void writabilityChanged() {
      if (relay != null) {
        relay.writabilityChanged();
      }
    }

    @Override
    protected void ended() {
      if (relay != null) {
        relay.cancel(); // a no-op when the relay itself ended (complete or failed)
      }
      if (permit != null) {
        permit.release();
      }
    }
  }
}
