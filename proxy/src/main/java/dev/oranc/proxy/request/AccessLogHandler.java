package dev.oranc.proxy.request;

import dev.oranc.proxy.metrics.ServerMetrics;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens an {@link Exchange} for each request, counts what goes in and out, and writes one access
 * log line (logger {@code dev.oranc.proxy.access}) when the response has been written or the
 * connection has gone:
 *
 * <pre>
 * GET /ghcr.io/owner/cache/abc.narinfo 200 out=512B in=0B 1.3ms layer=hit body=hit
 * GET /ghcr.io/owner/cache/nar/x.nar.zst 200 out=1048576000B in=0B 6012.0ms layer=miss body=stream
 * PUT /ghcr.io/owner/cache/nar/y.nar.zst - out=0B in=4096B 120.5ms layer=- body=- aborted
 * </pre>
 *
 * The path is logged without its query (a presigned URL carries a signature there) and no header is
 * ever logged, so a credential cannot reach the log from here.
 *
 * <p>Every write of a response passes here, so this is where a failed write is observed, whoever
 * wrote it: an encoder that refuses a header, a handler that wrote out of turn, a socket error. The
 * connection is closed (nothing sensible can follow a response that broke off), the failure is
 * logged, and the line is written with the note {@code write-failed}. Without this a refused head
 * left the client waiting and the exchange open for good.
 */
public final class AccessLogHandler extends ChannelDuplexHandler {

  static final Logger ACCESS = LoggerFactory.getLogger("dev.oranc.proxy.access");
  private static final Logger log = LoggerFactory.getLogger(AccessLogHandler.class);

  private final ServerMetrics metrics;

  public AccessLogHandler(ServerMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      Exchange e = new Exchange(request.method().name(), pathOf(request.uri()), System.nanoTime());
      // A request without a body is complete with its head, even if its (empty) last content is
      // still on its way: an early answer need not close the connection.
      e.requestComplete =
          request.decoderResult().isSuccess()
              && !HttpUtil.isTransferEncodingChunked(request)
              && contentLength(request) == 0;
      ctx.channel().attr(Exchange.KEY).set(e);
    }
    if (msg instanceof HttpContent content) {
      Exchange e = Exchange.current(ctx.channel());
      if (e != null) {
        int n = content.content().readableBytes();
        e.bytesIn += n;
        metrics.bytesIn(n);
        if (msg instanceof LastHttpContent) {
          e.requestComplete = true;
        }
      }
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    Exchange e = Exchange.current(ctx.channel());
    if (e == null
        || (msg instanceof HttpResponse r
            && r.status().codeClass() == HttpStatusClass.INFORMATIONAL)) {
      ctx.write(msg, promise);
      return;
    }
    if (msg instanceof HttpResponse r) {
      e.status = r.status().code();
      e.responseStarted = true;
    }
    if (msg instanceof HttpContent content) {
      int n = content.content().readableBytes();
      e.bytesOut += n;
      metrics.bytesOut(n);
    }
    if (msg instanceof LastHttpContent) {
      // The exchange is over for the handlers; the line is written once the bytes are out.
      ctx.channel().attr(Exchange.KEY).compareAndSet(e, null);
      ctx.write(msg, promise.unvoid())
          .addListener(
              f -> {
                if (!f.isSuccess()) {
                  writeFailed(ctx, e, f.cause());
                }
                finish(e, f.isSuccess() ? null : "aborted");
              });
      return;
    }
    ctx.write(msg, promise.unvoid())
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                writeFailed(ctx, e, f.cause());
              }
            });
  }

  private static void writeFailed(ChannelHandlerContext ctx, Exchange e, Throwable cause) {
    if (e.writeFailed) {
      return;
    }
    e.writeFailed = true;
    if (e.note == null) {
      e.note = "write-failed";
    }
    if (!ctx.channel().isActive() || cause instanceof IOException) {
      // The client went away: its doing, and common.
      log.debug(
          "{}: {} {}: writing the response failed: {}",
          ctx.channel().id(),
          e.method,
          e.path,
          cause.toString());
    } else {
      log.warn(
          "{}: {} {}: writing the response failed, closing the connection: {}",
          ctx.channel().id(),
          e.method,
          e.path,
          cause.toString(),
          cause);
    }
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    Exchange e = ctx.channel().attr(Exchange.KEY).getAndSet(null);
    if (e != null) {
      finish(e, "aborted");
    }
    ctx.fireChannelInactive();
  }

  private void finish(Exchange e, String outcome) {
    if (e.logged) {
      return;
    }
    e.logged = true;
    if (outcome != null && e.note == null) {
      e.note = outcome;
    }
    if (e.status != 0) {
      metrics.request(e.method, e.status);
    }
    if (ACCESS.isInfoEnabled()) {
      double millis =
          (System.nanoTime() - e.startNanos) / (double) TimeUnit.MILLISECONDS.toNanos(1);
      ACCESS.info(
          "{} {} {} out={}B in={}B {}ms layer={} body={}{}",
          e.method,
          e.path,
          e.status == 0 ? "-" : Integer.toString(e.status),
          e.bytesOut,
          e.bytesIn,
          String.format(Locale.ROOT, "%.1f", millis),
          e.layer,
          e.body,
          e.note == null ? "" : " " + e.note);
    }
  }

  /**
   * The request's Content-Length, 0 when absent; -1 when it is not a number (a request the decoder
   * refused, on its way to {@link DecoderFailureHandler}, which must get there as a 400 rather than
   * as an exception from here).
   */
  private static long contentLength(HttpRequest request) {
    try {
      return HttpUtil.getContentLength(request, 0L);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The path of a request target, without query or fragment, printable and bounded. */
  static String pathOf(String uri) {
    int end = uri.length();
    int q = uri.indexOf('?');
    if (q >= 0) {
      end = q;
    }
    int h = uri.indexOf('#');
    if (h >= 0 && h < end) {
      end = h;
    }
    StringBuilder b = new StringBuilder(Math.min(end, 300));
    for (int i = 0; i < end && b.length() < 300; i++) {
      char c = uri.charAt(i);
      b.append(c < 0x21 || c >= 0x7f ? '?' : c);
    }
    if (end > 300) {
      b.append('…');
    }
    return b.toString();
  }
}
