package dev.oranc.proxy.request;

import dev.oranc.proxy.error.ErrorText;
import dev.oranc.proxy.error.RequestRejected;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;

/**
 * Turns what the HTTP decoder could not read into an answer: a request line over the limit is a
 * 414, headers over it a 431, anything else malformed a 400. The decoder reads nothing more on the
 * connection after a failure, so the connection closes after the answer.
 */
public final class DecoderFailureHandler extends ChannelInboundHandlerAdapter {

  private final int maxInitialLineLength;
  private final int maxHeaderSize;

  public DecoderFailureHandler(int maxInitialLineLength, int maxHeaderSize) {
    this.maxInitialLineLength = maxInitialLineLength;
    this.maxHeaderSize = maxHeaderSize;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest r
        && r.decoderResult().isSuccess()
        && r.protocolVersion().majorVersion() != 1) {
      // The codec reads any NAME/x.y: an HTTP/2 preface or "HTTP/3.0" in a request line is not a
      // request this server can answer in kind, and what follows it is not HTTP/1 framing.
      ReferenceCountUtil.release(msg);
      refuse(
          ctx,
          new RequestRejected.BadRequest(
              "protocol "
                  + r.protocolVersion().text()
                  + " is not supported (expected HTTP/1.1 or HTTP/1.0)"));
      return;
    }
    if (!(msg instanceof HttpObject o) || o.decoderResult().isSuccess()) {
      ctx.fireChannelRead(msg);
      return;
    }
    DecoderResult result = o.decoderResult();
    ReferenceCountUtil.release(msg);
    Throwable cause = result.cause();
    if (cause instanceof PrematureChannelClosureException) {
      ctx.close(); // the client went away half-way through its headers: nobody to answer
      return;
    }
    RequestRejected answer;
    if (cause instanceof TooLongHttpLineException) {
      answer = new RequestRejected.UriTooLong(maxInitialLineLength);
    } else if (cause instanceof TooLongHttpHeaderException) {
      answer = new RequestRejected.HeadersTooLarge(maxHeaderSize);
    } else {
      String why = cause == null || cause.getMessage() == null ? "unreadable" : cause.getMessage();
      answer =
          new RequestRejected.BadRequest(
              "malformed HTTP request: " + ErrorText.line(new RuntimeException(why)));
    }
    refuse(ctx, answer);
  }

  /** Answers and then closes: nothing after a refused head can be read as HTTP/1 framing. */
  private static void refuse(ChannelHandlerContext ctx, RequestRejected answer) {
    Exchange e = Exchange.current(ctx.channel());
    if (e != null) {
      e.closeAfterResponse = true;
    }
    ctx.fireExceptionCaught(answer);
  }
}
