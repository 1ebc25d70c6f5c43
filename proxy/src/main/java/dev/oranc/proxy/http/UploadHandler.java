package dev.oranc.proxy.http;

import dev.oranc.common.error.Causes;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.BlobUpload;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.Tag;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.request.Failures;
import dev.oranc.proxy.request.RequestHandler;
import dev.oranc.proxy.request.Responses;
import dev.oranc.proxy.request.RoutedRequest;
import dev.oranc.proxy.request.StoredHeaders;
import dev.oranc.proxy.route.Route;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code PUT} of a cache file: the body streams into a registry upload as it arrives, then the
 * image (config and manifest) is published under the key's tag, the key's cached lookups are
 * dropped, and the answer is {@code 200 <_/>} (S3 clients parse it as XML).
 *
 * <p>Design note (issue 16: Nix copies one path at a time, so every registry round trip in here is
 * paid once per path). The config goes up as soon as the body's digest is known, beside the blob's
 * last request. A NAR ({@code nar/…}) is answered once its blob is stored, and its image is
 * published after the answer, tracked in {@link PendingPublishes} (bounded; when full, answered
 * after the publish). A narinfo's manifest waits for {@link NarInfoGate}: the NAR it names must be
 * in the registry first, so a narinfo never names a NAR that is not there. ARCHITECTURE.md, "A PUT
 * from nix copy", has the failure cases.
 *
 * <p>Design note. Backpressure: while the upload cannot take more ({@link BlobUpload#isWritable()}
 * false: the registry is slower than the client), reading from the client stops ({@code AUTO_READ}
 * off, {@link RequestHandler.Request#throttle}) and resumes in {@link BlobUpload#whenWritable}.
 * Memory per PUT is bounded by the upload's queue plus one read. Nothing half-uploaded becomes
 * visible: the manifest is written only after the whole body has arrived and the blob is complete;
 * a body that stops (client gone, connection reset) aborts the upload session and publishes
 * nothing.
 *
 * <p>The request's {@code Content-Type} (default {@code application/octet-stream}) and {@code
 * Content-Encoding} (Nix's {@code narinfo-compression} and friends) are kept as layer annotations
 * and sent back on GET. An S3 client's {@code aws-chunked} body arrives here decoded ({@code
 * s3.AwsChunkedHandler}) and checked ({@code s3.BodyChecksumHandler}: a mismatch comes as an error
 * in place of the body's end, and aborts the upload); a plain client's is refused, since that
 * framing is not content. An S3 PUT is answered with its {@code ETag} (the body's MD5, as S3 does).
 * A type or encoding that could not be sent back as a header ({@link StoredHeaders}: not printable
 * ASCII, or over 1 KiB) is refused with a 400, since reading such a manifest is refused too.
 *
 * <p>Callbacks from the registry client run guarded ({@link RequestHandler.Request#onLoop}):
 * whatever one throws fails the PUT like any error, so every PUT is answered.
 */
public final class UploadHandler extends RequestHandler {

  private static final Logger log = LoggerFactory.getLogger(UploadHandler.class);
  static final String OK_BODY = "<_/>";
  private static final String NAR_PREFIX = "nar/";
  private static final String NARINFO_SUFFIX = ".narinfo";

  private final Backend backend;
  private final StreamLimiter streams;

  public UploadHandler(Backend backend, StreamLimiter streams) {
    super(log);
    this.backend = backend;
    this.streams = streams;
  }

  @Override
  protected Request accept(ChannelHandlerContext ctx, RoutedRequest routed) {
    if (routed.route() instanceof Route.File file && file.method() == Route.Method.PUT) {
      return new Upload(ctx, file, routed.request());
    }
    return null;
  }

  /** One PUT, from its head to the answer. */
  private final class Upload extends Request {
    final Route.File route;
    final RepositoryRef repo;
    final String key;
    final Credentials credentials;
    BlobUpload upload;

    /** The config of the image, on its way once the body's digest is known. */
    CompletableFuture<Descriptor> config;

    /** A narinfo's first bytes ({@link NarInfoGate}); null for other keys. */
    byte[] narinfoHead;

    int narinfoHeadLength;
    String contentType;
    String contentEncoding;

    /** This PUT's place in the uploads gauge; null until the upload starts. */
    ServerMetrics.Stream inFlight;

    StreamLimiter.Permit permit;
    long startNanos;

    Upload(ChannelHandlerContext ctx, Route.File route, HttpRequest request) {
      super(ctx, request);
      this.route = route;
      this.repo = route.repository();
      this.key = route.key();
      this.credentials = route.credentials();
    }

    @Override
    protected String describe() {
      return "PUT " + key + " in " + repo;
    }

    @Override
    protected void start() {
      StoredHeaders stored = StoredHeaders.of(request);
      if (stored.awsChunked()) {
        fail(
            new RequestRejected.BadRequest(
                "Content-Encoding aws-chunked (S3 streaming signatures) is not supported; send"
                    + " the plain body"));
        return;
      }
      contentType = stored.contentType();
      contentEncoding = stored.contentEncoding();
      String problem = stored.problem();
      if (problem != null) {
        fail(new RequestRejected.BadRequest(problem));
        return;
      }
      long length;
      if (HttpUtil.isTransferEncodingChunked(request)) {
        length = -1;
      } else {
        // No Content-Length and not chunked: an HTTP/1.1 request without a body.
        length = Math.max(0, HttpUtil.getContentLength(request, 0L));
      }
      permit = streams.tryAcquire(ctx.channel());
      if (permit == null) {
        backend.metrics().streamRefused();
        fail(new RequestRejected.TooBusy(streams.max()));
        return;
      }
      startNanos = System.nanoTime();
      upload = backend.registry().upload(repo, length, credentials, loop);
      // The config names only the blob's digest: it goes up as soon as the last byte is hashed,
      // beside the blob's final request, and the manifest follows both.
      config =
          upload
              .described()
              .thenCompose(d -> backend.registry().putConfig(repo, d.digest(), credentials, loop));
      if (key.endsWith(NARINFO_SUFFIX) && contentEncoding == null) {
        narinfoHead =
            new byte
                [(int)
                    Math.min(NarInfoGate.HEAD_BYTES, length < 0 ? NarInfoGate.HEAD_BYTES : length)];
      }
      inFlight = backend.metrics().uploads().start();
      // A registry that fails while the body is still arriving is answered at once.
      upload
          .result()
          .whenComplete(
              (d, error) -> {
                if (error != null) {
                  onLoop(
                      () -> {
                        if (isReceiving() && !isAnswered()) {
                          fail(Causes.of(error));
                        }
                      });
                }
              });
    }

    @Override
    protected void body(HttpContent content, boolean last) {
      if (narinfoHead != null && narinfoHeadLength < narinfoHead.length) {
        ByteBuf b = content.content();
        int n = Math.min(b.readableBytes(), narinfoHead.length - narinfoHeadLength);
        b.getBytes(b.readerIndex(), narinfoHead, narinfoHeadLength, n);
        narinfoHeadLength += n;
      }
      upload.write(content.content()); // the upload owns the bytes from here on
      if (last) {
        resumeReading();
        finish();
      } else {
        throttle(upload.isWritable(), upload::whenWritable);
      }
    }

    void finish() {
      CompletableFuture<Descriptor> stored =
          Failures.timed(backend.metrics(), "upload", upload.finish());
      if (key.startsWith(NAR_PREFIX)) {
        stored.whenComplete((blob, error) -> onLoop(() -> narStored(blob, error)));
        return;
      }
      CompletableFuture<Void> ready =
          narinfoHead == null
              ? CompletableFuture.completedFuture(null)
              : new NarInfoGate(backend, repo, credentials, loop)
                  .ready(NarInfoGate.Names.parse(narinfoHead, narinfoHeadLength));
      narinfoHead = null;
      // The blob, its config and the narinfo's NAR check go on at once; only the manifest waits.
      stored
          .thenCombine(ready, (blob, v) -> blob)
          .thenCompose(this::publish)
          .whenComplete((tag, error) -> onLoop(() -> answer(tag, error)));
    }

    CompletableFuture<Tag> publish(Descriptor blob) {
      return backend.publish(
          repo, key, blob, contentType, contentEncoding, config, credentials, loop);
    }

    /**
     * A NAR's blob is stored: answered now when the pending table has room, and its image goes up
     * in the background (see {@link PendingPublishes}); otherwise answered after the publish.
     */
    void narStored(Descriptor blob, Throwable error) {
      if (error != null) {
        answer(null, error);
        return;
      }
      CompletableFuture<Void> pending = backend.pending().begin(repo, key);
      CompletableFuture<Tag> published = publish(blob);
      if (pending == null) {
        published.whenComplete((tag, e) -> onLoop(() -> answer(tag, e)));
        return;
      }
      String channel = ctx.channel().id().toString();
      published.whenComplete(
          (tag, e) -> {
            Throwable cause = e == null ? null : Causes.of(e);
            if (cause == null) {
              // The key's look-ups were dropped already (Backend.publish), before the table lets
              // waiters go: their lookups must not find an older miss.
              log.debug("{}: published {} in {} as {} after the answer", channel, key, repo, tag);
            } else {
              log.warn(
                  "{}: PUT {} in {}: answered, but its publish failed, so a narinfo naming it will"
                      + " be refused: {}",
                  channel,
                  key,
                  repo,
                  cause.toString());
            }
            backend.pending().end(repo, key, pending, cause);
          });
      answer(null, null);
    }

    /** The answer: {@code error}, else {@code 200} ({@code tag} null: the publish goes on). */
    void answer(Tag tag, Throwable error) {
      if (error != null) {
        answerWith(error); // the upload ended already: nothing to abort
        return;
      }
      if (tag != null) {
        // The key's look-ups were dropped when it was published (Backend.publish): a GET that
        // follows the 200 sees the new file.
        backend.pending().published(repo, key);
      }
      log.debug(
          "{}: stored {} in {} as {} ({} bytes, {})",
          ctx.channel().id(),
          key,
          repo,
          tag == null ? "(publishing)" : tag,
          bytesIn(),
          contentType);
      if (!isAnswered()) {
        FullHttpResponse ok =
            Responses.full(
                HttpResponseStatus.OK,
                Responses.XML,
                OK_BODY.getBytes(StandardCharsets.US_ASCII),
                false);
        if (bodyMd5() != null) {
          ok.headers().set(HttpHeaderNames.ETAG, "\"" + HexFormat.of().formatHex(bodyMd5()) + "\"");
        }
        respond(ok);
      }
    }

    @Override
    protected void fail(Throwable error) {
      try {
        if (upload != null && !isAnswered()) {
          upload.abort(error);
        }
      } finally {
        answerWith(error);
      }
    }

    @Override
    protected void clientGone() {
      if (isReceiving() && upload != null) {
        upload.abort(new IOException("the client closed the connection before the body ended"));
        log.debug(
            "{}: PUT {} in {} abandoned after {} bytes; nothing published",
            ctx.channel().id(),
            key,
            repo,
            bytesIn());
      }
    }

    /** Out of the uploads gauge, and the stream permit back. */
    @Override
    protected void ended() {
      if (inFlight != null) {
        inFlight.end();
      }
      if (permit != null) {
        permit.release();
      }
    }
  }
}
