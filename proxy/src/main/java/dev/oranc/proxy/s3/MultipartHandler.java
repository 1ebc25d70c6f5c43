package dev.oranc.proxy.s3;

import dev.oranc.common.registry.BlobUpload;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.request.Failures;
import dev.oranc.proxy.request.RequestHandler;
import dev.oranc.proxy.request.Responses;
import dev.oranc.proxy.request.RoutedRequest;
import dev.oranc.proxy.request.StoredHeaders;
import dev.oranc.proxy.route.Route;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The S3 multipart upload operations ({@link Route.Multipart}), each onto a {@link
 * MultipartSession} of {@link MultipartUploads}:
 *
 * <ul>
 *   <li>{@code POST ?uploads}: takes one of the client's upload slots ({@link
 *       MultipartUploads#reserve}: a client at its cap is 503 SlowDown before any registry
 *       request), opens a registry upload session (so refused credentials are told at once),
 *       answers {@code InitiateMultipartUploadResult} with the new upload id. The request's {@code
 *       Content-Type} (and {@code Content-Encoding}) become the file's.
 *   <li>{@code PUT ?partNumber=N&uploadId=ID}: the body streams into the session (straight into the
 *       registry upload when it is the next part, else into the spool) with the sink's flow
 *       control; answered with the part's {@code ETag}, its MD5 (checked against the request's
 *       checksums on the way, {@link BodyChecksumHandler}). A part refused before its body is sent
 *       (spool full: 503 SlowDown) is refused before {@code 100 Continue}.
 *   <li>{@code POST ?uploadId=ID}: the {@code CompleteMultipartUpload} list (at most {@value
 *       #MAX_COMPLETE_BODY} bytes, gathered) is checked, the blob finished, the manifest published
 *       and the key's cached lookups dropped; answered {@code CompleteMultipartUploadResult}.
 *   <li>{@code DELETE ?uploadId=ID}: aborts; 204.
 * </ul>
 *
 * It sits before {@code expect-continue}, so it answers {@code Expect: 100-continue} itself, once a
 * part has been accepted.
 */
public final class MultipartHandler extends RequestHandler {

  private static final Logger log = LoggerFactory.getLogger(MultipartHandler.class);
  static final int MAX_COMPLETE_BODY = 2 * 1024 * 1024;

  private final Backend backend;
  private final MultipartUploads uploads;

  public MultipartHandler(Backend backend, MultipartUploads uploads) {
    super(log);
    this.backend = backend;
    this.uploads = uploads;
  }

  @Override
  protected Request accept(ChannelHandlerContext ctx, RoutedRequest routed) {
    if (!(routed.route() instanceof Route.Multipart m)) {
      return null;
    }
    return switch (m.operation()) {
      case CREATE -> new Create(ctx, m, routed.request());
      case PART -> new Part(ctx, m, routed.request());
      case COMPLETE -> new Complete(ctx, m, routed.request());
      case ABORT -> new Abort(ctx, m, routed.request());
    };
  }

  /** One multipart request, from its head to its answer. */
  private abstract class Operation extends Request {
    final Route.Multipart route;

    Operation(ChannelHandlerContext ctx, Route.Multipart route, HttpRequest request) {
      super(ctx, request);
      this.route = route;
    }

    void respondXml(String xml) {
      respond(
          Responses.full(
              HttpResponseStatus.OK, Responses.XML, xml.getBytes(StandardCharsets.UTF_8), false));
    }

    MultipartSession session() {
      return uploads.find(route.uploadId(), route.repository(), route.key(), route.credentials());
    }

    String bucket() {
      String r = route.repository().repository();
      return r.substring(r.lastIndexOf('/') + 1);
    }
  }

  private final class Create extends Operation {
    Create(ChannelHandlerContext ctx, Route.Multipart route, HttpRequest request) {
      super(ctx, route, request);
    }

    @Override
    protected void start() {
      StoredHeaders read = StoredHeaders.of(request);
      // aws-chunked frames a request's body; it is not the file's encoding.
      StoredHeaders stored = read.awsChunked() ? read.withoutEncoding() : read;
      String problem = stored.problem();
      if (problem != null) {
        fail(new RequestRejected.BadRequest(problem));
        return;
      }
      MultipartUploads.Slot slot;
      try {
        // Before the registry session: a client at its cap costs the registry nothing.
        slot = uploads.reserve(route.credentials(), ctx.channel().remoteAddress());
      } catch (S3Rejected r) {
        fail(r);
        return;
      }
      expectContinue();
      BlobUpload upload;
      try {
        upload = backend.registry().upload(route.repository(), -1, route.credentials(), loop);
      } catch (RuntimeException e) {
        slot.release();
        fail(e);
        return;
      }
      Failures.timed(backend.metrics(), "multipart_create", Failures.call(upload::open))
          .whenComplete(
              (v, error) ->
                  onLoop(
                      () -> {
                        if (error != null) {
                          slot.release();
                          fail(error);
                          return;
                        }
                        MultipartSession session =
                            uploads.open(
                                slot,
                                route.repository(),
                                route.key(),
                                route.credentials(),
                                stored.contentType(),
                                stored.contentEncoding(),
                                upload);
                        if (!ctx.channel().isActive()) {
                          session.abort(
                              "was abandoned: the client left before it learnt the upload id");
                          return;
                        }
                        log.debug(
                            "{}: multipart upload of {} in {} created",
                            ctx.channel().id(),
                            route.key(),
                            route.repository());
                        respondXml(S3Xml.initiateResult(bucket(), route.key(), session.id()));
                      }));
    }
  }

  private final class Part extends Operation {
    MultipartSession.PartSink sink;

    Part(ChannelHandlerContext ctx, Route.Multipart route, HttpRequest request) {
      super(ctx, route, request);
    }

    @Override
    protected void start() {
      long declared =
          HttpUtil.isTransferEncodingChunked(request) ? -1 : HttpUtil.getContentLength(request, 0L);
      try {
        sink = session().beginPart(route.partNumber(), declared);
      } catch (RuntimeException e) {
        fail(e);
        return;
      }
      inFlight = backend.metrics().uploads().start();
      expectContinue();
    }

    @Override
    protected void body(HttpContent content, boolean last) {
      try {
        sink.write(content.content()); // the sink owns the bytes from here on
      } catch (S3Rejected e) {
        sink.abort(e);
        fail(e);
        return;
      }
      if (last) {
        resumeReading();
        finish();
      } else {
        throttle(sink.isWritable(), sink::whenWritable);
      }
    }

    void finish() {
      byte[] md5 = bodyMd5();
      if (md5 == null) {
        sink.abort(new IllegalStateException("no MD5 for the part"));
        fail(new IllegalStateException("the part's MD5 was not computed"));
        return;
      }
      sink.finish(md5)
          .whenComplete(
              (etag, error) ->
                  onLoop(
                      () -> {
                        if (error != null) {
                          fail(error);
                          return;
                        }
                        FullHttpResponse ok = Responses.empty(HttpResponseStatus.OK);
                        ok.headers().set(HttpHeaderNames.ETAG, etag);
                        respond(ok);
                      }));
    }

    @Override
    protected void bodyFailed(Throwable cause) {
      if (sink != null) {
        sink.abort(cause);
      }
    }

    @Override
    protected void clientGone() {
      if (isReceiving() && sink != null) {
        sink.abort(new IOException("the client closed the connection before the part ended"));
        log.debug(
            "{}: part {} of {} abandoned after {} bytes",
            ctx.channel().id(),
            route.partNumber(),
            route.key(),
            bytesIn());
      }
    }

    /** This part's place in the uploads gauge (once-only end); null until the part starts. */
    private ServerMetrics.Stream inFlight;

    @Override
    protected void ended() {
      if (inFlight != null) {
        inFlight.end();
      }
    }
  }

  private final class Complete extends Operation {
    MultipartSession session;
    CompositeByteBuf xml;

    Complete(ChannelHandlerContext ctx, Route.Multipart route, HttpRequest request) {
      super(ctx, route, request);
    }

    @Override
    protected void start() {
      try {
        session = session();
      } catch (RuntimeException e) {
        fail(e);
        return;
      }
      expectContinue();
      xml = ctx.alloc().compositeBuffer();
    }

    @Override
    protected void body(HttpContent content, boolean last) {
      if (xml.readableBytes() + content.content().readableBytes() > MAX_COMPLETE_BODY) {
        content.release();
        release();
        fail(
            new S3Rejected.MalformedXml(
                "the CompleteMultipartUpload body is larger than " + MAX_COMPLETE_BODY + " bytes"));
        return;
      }
      xml.addComponent(true, content.content());
      if (last) {
        List<S3Xml.CompletedPart> parts;
        try (ByteBufInputStream in = new ByteBufInputStream(xml)) {
          parts = S3Xml.parseComplete(in);
        } catch (IOException | RuntimeException e) {
          release();
          fail(e);
          return;
        }
        release();
        complete(parts);
      }
    }

    void complete(List<S3Xml.CompletedPart> parts) {
      Failures.timed(
              backend.metrics(), "multipart_complete", Failures.call(() -> session.complete(parts)))
          .thenCompose(
              done ->
                  backend
                      .publish(
                          route.repository(),
                          route.key(),
                          done.blob(),
                          session.contentType(),
                          session.contentEncoding(),
                          null,
                          route.credentials(),
                          loop)
                      .thenApply(tag -> done))
          .whenComplete(
              (done, error) ->
                  onLoop(
                      () -> {
                        if (error != null) {
                          fail(error);
                          return;
                        }
                        // Published, its look-ups dropped (Backend.publish): a GET that
                        // follows sees the new file.
                        session.completed();
                        log.debug(
                            "{}: multipart upload of {} in {} stored: {} parts, {} bytes",
                            ctx.channel().id(),
                            route.key(),
                            route.repository(),
                            done.parts(),
                            done.blob().size());
                        respondXml(
                            S3Xml.completeResult(path(), bucket(), route.key(), done.etag()));
                      }));
    }

    private void release() {
      if (xml != null) {
        xml.release();
        xml = null;
      }
    }

    /** The list gathered so far is dropped, however the request ends. */
    @Override
    protected void ended() {
      release();
    }
  }

  private final class Abort extends Operation {
    Abort(ChannelHandlerContext ctx, Route.Multipart route, HttpRequest request) {
      super(ctx, route, request);
    }

    @Override
    protected void start() {
      try {
        session().abort("was aborted");
      } catch (RuntimeException e) {
        fail(e);
        return;
      }
      log.debug(
          "{}: multipart upload of {} in {} aborted",
          ctx.channel().id(),
          route.key(),
          route.repository());
      // 204 has no Content-Length (RFC 9110 §8.6).
      respond(
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT, Unpooled.EMPTY_BUFFER));
    }
  }
}
