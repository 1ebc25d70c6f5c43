package dev.oranc.proxy.http;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.BlobDownload;
import dev.oranc.common.registry.Credentials;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.RepositoryRef;
import dev.oranc.common.registry.StoredFile;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.route.RequestRejected;
import dev.oranc.proxy.route.Route;
import dev.oranc.proxy.upstream.UpstreamChecker;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;

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
 *   <li>{@code GET} of a small blob: from {@link BlobCache} by digest, fetched whole (and checked
 *       against the digest) on a miss. Consulted only now, after step 2 succeeded for these
 *       credentials.
 *   <li>{@code GET} of a large blob: relayed from the registry ({@link BlobRelay}).
 * </ol>
 *
 * Registry calls run on this channel's event loop (the client pools connections per loop), and
 * every callback hops back to it before touching the channel.
 */
final class DownloadHandler extends ChannelInboundHandlerAdapter {

  private final Backend backend;
  private final StreamLimiter streams;
  /** The current request's body is still arriving (it is dropped: GET and HEAD have none). */
  private boolean consuming;
  private Download current;

  DownloadHandler(Backend backend, StreamLimiter streams) {
    this.backend = backend;
    this.streams = streams;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof RoutedRequest routed
        && routed.route() instanceof Route.File file
        && file.method() != Route.Method.PUT) {
      consuming = true;
      current = new Download(ctx, file, Exchange.current(ctx.channel()));
      current.start();
      return;
    }
    if (consuming && msg instanceof HttpContent content) {
      content.release();
      if (msg instanceof LastHttpContent) {
        consuming = false;
      }
      return;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (current != null && current.relay != null) {
      current.relay.writabilityChanged();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (current != null) {
      current.clientGone();
      current = null;
    }
    ctx.fireChannelInactive();
  }

  static void fileHeaders(HttpHeaders headers, StoredFile file) {
    headers.set(HttpHeaderNames.CONTENT_TYPE, file.contentType());
    headers.set(HttpHeaderNames.CONTENT_LENGTH, file.size());
    if (file.contentEncoding() != null) {
      headers.set(HttpHeaderNames.CONTENT_ENCODING, file.contentEncoding());
    }
  }

  /** One GET or HEAD, from its head to its last byte. */
  private final class Download {
    final ChannelHandlerContext ctx;
    final Route.File route;
    final Exchange exchange;
    final RepositoryRef repo;
    final String key;
    final Credentials credentials;
    final EventLoop loop;
    BlobRelay relay;
    /** Held from the decision to stream until the relay has ended, however it ends. */
    StreamLimiter.Permit permit;

    Download(ChannelHandlerContext ctx, Route.File route, Exchange exchange) {
      this.ctx = ctx;
      this.route = route;
      this.exchange = exchange != null ? exchange : new Exchange(route.method().name(), "?", System.nanoTime());
      this.repo = route.repository();
      this.key = route.key();
      this.credentials = route.credentials();
      this.loop = ctx.channel().eventLoop();
    }

    boolean live() {
      return current == this && ctx.channel().isActive();
    }

    void onLoop(Runnable r) {
      if (loop.inEventLoop()) {
        r.run();
      } else {
        loop.execute(r);
      }
    }

    void start() {
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
        exchange.note = "upstream";
        FullHttpResponse r = Responses.empty(HttpResponseStatus.FOUND);
        r.headers().set(HttpHeaderNames.LOCATION, lookup.location().get().toASCIIString());
        respond(r);
        return;
      }
      resolve();
    }

    void resolve() {
      RegistryClient client = backend.registry().client();
      backend
          .layers()
          .get(repo, key, credentials,
              () -> Failures.timed(backend.metrics(), "resolve",
                  Failures.call(() -> backend.registry().find(repo, key, credentials, loop))))
          .whenComplete((lookup, error) -> onLoop(() -> afterResolve(lookup, error, client)));
    }

    void afterResolve(LayerCache.Lookup lookup, Throwable error, RegistryClient client) {
      if (!live()) {
        return;
      }
      if (error != null) {
        fail(Failures.unwrap(error));
        return;
      }
      exchange.layer = lookup.hit() ? "hit" : "miss";
      if (lookup.file().isEmpty()) {
        fail(new RegistryException.NotFound(
            "GET " + repo + " key " + key, "no tag of the key exists"));
        return;
      }
      StoredFile file = lookup.file().get();
      if (route.method() == Route.Method.HEAD) {
        FullHttpResponse r = Responses.empty(HttpResponseStatus.OK);
        fileHeaders(r.headers(), file);
        respond(r);
        return;
      }
      BlobCache blobs = backend.blobs();
      if (blobs.holds(file.size())) {
        blobs
            .get(file.digest(),
                () -> Failures.timed(backend.metrics(), "blob_get",
                    Failures.call(() -> client.getBlobBytes(repo, file.digest(), blobs.maxBlobBytes(), credentials, loop))))
            .whenComplete((b, e) -> onLoop(() -> afterSmallBlob(file, b, e)));
      } else {
        permit = streams.tryAcquire(ctx.channel());
        if (permit == null) {
          backend.metrics().streamRefused();
          fail(new RequestRejected.TooBusy(streams.max()));
          return;
        }
        exchange.body = "stream";
        Failures.timed(backend.metrics(), "blob_open",
                Failures.call(() -> client.getBlob(repo, file.digest(), null, credentials, loop)))
            .whenComplete((d, e) -> onLoop(() -> afterBlobOpened(file, d, e)));
      }
    }

    void afterSmallBlob(StoredFile file, BlobCache.Lookup lookup, Throwable error) {
      if (!live()) {
        return;
      }
      if (error != null) {
        fail(Failures.unwrap(error));
        return;
      }
      exchange.body = lookup.hit() ? "hit" : "miss";
      byte[] bytes = lookup.bytes();
      if (bytes.length != file.size()) {
        fail(new RegistryException.Protocol(
            "GET blob " + repo + "@" + file.digest(),
            "the blob has " + bytes.length + " bytes, the manifest says " + file.size()));
        return;
      }
      FullHttpResponse r = Responses.full(HttpResponseStatus.OK, null, bytes, false);
      fileHeaders(r.headers(), file);
      respond(r);
    }

    void afterBlobOpened(StoredFile file, BlobDownload download, Throwable error) {
      if (!live()) {
        if (download != null) {
          download.cancel();
        }
        return;
      }
      if (error != null) {
        fail(Failures.unwrap(error));
        return;
      }
      long announced = download.contentLength();
      if (announced >= 0 && announced != file.size()) {
        download.cancel();
        fail(new RegistryException.Protocol(
            "GET blob " + repo + "@" + file.digest(),
            "the registry announced " + announced + " bytes, the manifest says " + file.size()));
        return;
      }
      relay = new BlobRelay(ctx, download, file, backend.metrics(), this::done, this::fail);
      relay.start();
    }

    void respond(FullHttpResponse response) {
      done();
      ctx.writeAndFlush(response);
    }

    void done() {
      if (current == this) {
        current = null;
      }
      if (permit != null) {
        permit.release();
      }
    }

    void fail(Throwable error) {
      done();
      ctx.fireExceptionCaught(error);
    }

    void clientGone() {
      if (relay != null) {
        relay.cancel();
      }
      if (permit != null) {
        permit.release();
      }
    }
  }
}
