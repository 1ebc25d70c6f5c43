package dev.oranc.proxy;

import dev.oranc.proxy.http.CacheHeaders;
import dev.oranc.proxy.http.CacheHeadersHandler;
import dev.oranc.proxy.http.ConnectionLimiter;
import dev.oranc.proxy.http.DownloadHandler;
import dev.oranc.proxy.http.NarRedirect;
import dev.oranc.proxy.http.ServiceHandler;
import dev.oranc.proxy.http.StreamLimiter;
import dev.oranc.proxy.http.UploadHandler;
import dev.oranc.proxy.request.AccessLogHandler;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.request.DecoderFailureHandler;
import dev.oranc.proxy.request.ErrorResponseHandler;
import dev.oranc.proxy.request.Exchange;
import dev.oranc.proxy.request.ExpectContinueHandler;
import dev.oranc.proxy.request.IdleCloseHandler;
import dev.oranc.proxy.request.PipeliningGate;
import dev.oranc.proxy.request.RegistryAllowList;
import dev.oranc.proxy.request.RouteHandler;
import dev.oranc.proxy.route.Router;
import dev.oranc.proxy.s3.AwsChunkedHandler;
import dev.oranc.proxy.s3.BodyChecksumHandler;
import dev.oranc.proxy.s3.MultipartHandler;
import dev.oranc.proxy.s3.MultipartUploads;
import dev.oranc.proxy.s3.S3Errors;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The client connection's pipeline, in named groups (after Zuul's {@code
 * BaseZuulChannelInitializer}). Inbound order:
 *
 * <pre>
 * http1     codec            HttpServerCodec, bounded request line and headers; bodies stream
 *           keep-alive       Connection handling, close after a non-persistent response
 * timeouts  idle-state       IdleStateHandler (all-idle)
 *           idle-close       closes when the client is what we wait on
 * app       gate             one exchange at a time (pipelined requests wait)
 *           access-log       the Exchange, byte counts, one log line per request
 *           cache-headers    Cache-Control, Vary, nosniff, CSP on every answer (CacheHeaders)
 *           decoder-failure  414 / 431 / 400 for what the codec could not read
 *           route            path, query, credentials → RoutedRequest
 *           aws-chunked      S3 uploads: aws-chunked bodies decoded to the plain bytes (s3)
 *           checksums        S3 uploads: Content-MD5, x-amz-checksum-* verified (s3)
 *           multipart        S3 multipart uploads (s3; answers its own 100 Continue)
 *           expect-continue  100 Continue at once
 *           service          /, /-/health, /-/metrics
 *           download         GET, HEAD of cache files
 *           upload           PUT of cache files
 *           errors           every error → one answer (ErrorResponses)
 * </pre>
 *
 * No {@code HttpObjectAggregator} anywhere: a body (a NAR of gigabytes) is never gathered. The
 * handlers that answer requests (multipart, service, download, upload) share one skeleton, {@link
 * RequestHandler}; the S3 body filters share {@code s3.S3BodyFilter}.
 *
 * <p>A connection over {@code --max-connections} gets none of this: see {@link ConnectionLimiter}.
 * Streams per client address are bounded by one {@link StreamLimiter} shared by all connections.
 */
public final class ServerInitializer extends ChannelInitializer<SocketChannel> {

  /** Body pieces the codec emits: one read's worth, so a PUT relays without re-slicing. */
  public static final int MAX_CHUNK_SIZE = 1 << 20;

  private final ServerConfig config;
  private final Backend backend;
  private final MultipartUploads multipart;
  private final Router router;
  private final BooleanSupplier draining;
  private final ChannelGroup channels;
  private final ConnectionLimiter connectionLimiter;
  private final StreamLimiter streamLimiter;
  private final CacheHeaders cacheHeaders;
  private final RegistryAllowList allowList;
  private final NarRedirect narRedirect;

  public ServerInitializer(
      ServerConfig config,
      Backend backend,
      MultipartUploads multipart,
      BooleanSupplier draining,
      ChannelGroup channels) {
    this.config = config;
    this.backend = backend;
    this.multipart = multipart;
    this.router = new Router(config.repositoryParts(), config.codec());
    this.draining = draining;
    this.channels = channels;
    this.connectionLimiter = new ConnectionLimiter(config.maxConnections(), backend.metrics());
    this.streamLimiter = new StreamLimiter(config.maxStreamsPerClient());
    this.cacheHeaders = new CacheHeaders(config.maxAgeNarinfo(), config.maxAgeNotFound());
    this.allowList = new RegistryAllowList(config::serves, backend.metrics());
    this.narRedirect =
        new NarRedirect(
            config.narRedirect(),
            backend.registry(),
            backend.metrics(),
            config.narRedirectTtl(),
            config.ticker(),
            Clock.systemUTC());
    if (config.narRedirect()) {
      backend.metrics().cache("nar_redirect", narRedirect::stats, narRedirect::size, () -> -1);
    }
  }

  /** True when no request is in progress on {@code ch}: a shutdown may close it at once. */
  public static boolean isIdle(Channel ch) {
    return Exchange.current(ch) == null;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    channels.add(ch);
    int open = backend.metrics().connections().incrementAndGet();
    ch.closeFuture().addListener(f -> backend.metrics().connections().decrementAndGet());
    if (!connectionLimiter.admits(open)) {
      ch.pipeline().addLast("refuse", connectionLimiter.refusal(open));
      return;
    }
    addHandlers(ch.pipeline());
  }

  /**
   * Every handler, in order; tests and the benchmark assemble an {@code EmbeddedChannel} with it.
   * Public for the tests of the faces' own packages ({@code http.CacheHeadersTest}).
   */
  public void addHandlers(ChannelPipeline p) {
    addHttp1Handlers(p);
    addTimeoutHandlers(p);
    addApplicationHandlers(p);
  }

  private void addHttp1Handlers(ChannelPipeline p) {
    HttpDecoderConfig decoder =
        new HttpDecoderConfig()
            .setMaxInitialLineLength(config.maxInitialLineLength())
            .setMaxHeaderSize(config.maxHeaderSize())
            .setMaxChunkSize(MAX_CHUNK_SIZE);
    p.addLast("codec", new HttpServerCodec(decoder));
    p.addLast("keep-alive", new HttpServerKeepAliveHandler());
  }

  private void addTimeoutHandlers(ChannelPipeline p) {
    p.addLast(
        "idle-state",
        new IdleStateHandler(0, 0, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
    p.addLast("idle-close", new IdleCloseHandler());
  }

  private void addApplicationHandlers(ChannelPipeline p) {
    p.addLast("gate", new PipeliningGate(draining));
    p.addLast("access-log", new AccessLogHandler(backend.metrics()));
    p.addLast("cache-headers", new CacheHeadersHandler(cacheHeaders));
    p.addLast(
        "decoder-failure",
        new DecoderFailureHandler(config.maxInitialLineLength(), config.maxHeaderSize()));
    p.addLast("route", new RouteHandler(router, allowList, draining));
    p.addLast("aws-chunked", new AwsChunkedHandler());
    p.addLast("checksums", new BodyChecksumHandler());
    p.addLast("multipart", new MultipartHandler(backend, multipart));
    p.addLast("expect-continue", new ExpectContinueHandler());
    p.addLast("service", new ServiceHandler(backend.metrics(), draining));
    p.addLast("download", new DownloadHandler(backend, streamLimiter, narRedirect));
    p.addLast("upload", new UploadHandler(backend, streamLimiter));
    p.addLast("errors", new ErrorResponseHandler(S3Errors::response));
  }
}
