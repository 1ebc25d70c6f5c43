package dev.oranc.proxy.request;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.FormatException;
import dev.oranc.proxy.error.ErrorText;
import dev.oranc.proxy.error.RequestRejected;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of the pipeline: every error a handler fires or throws arrives here and is answered
 * through {@link ErrorResponses}, once.
 *
 * <ul>
 *   <li>Before the response has begun: the mapped status and one-line body. When the request's body
 *       has not been read to its end (refused early), the connection closes after the answer, since
 *       the rest of that body would otherwise be read as the next request.
 *   <li>After it has begun (a relay broke): the connection is closed, so the client sees a
 *       truncated transfer and not a complete-looking one.
 *   <li>Outside any exchange (a reset connection): closed, logged at debug.
 * </ul>
 *
 * Logging follows harmonia: server-side failures at warn with their message, client mistakes and
 * misses at debug, and a stack trace only for what is not one of ours (a bug, answered 500). The
 * log gets the whole message, with what the registry said ({@link ErrorText#detailLine}); the body
 * only our own words ({@link ErrorText#line}).
 *
 * <p>Nothing here may fail silently, being the last handler: an answer that cannot be built is
 * logged and the connection closed, and a failed write of it is observed by {@link
 * AccessLogHandler} (closed, logged, and still an access-log line).
 */
public final class ErrorResponseHandler extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(ErrorResponseHandler.class);

  private final Function<Throwable, ErrorResponses.ErrorResponse> s3Face;

  /**
   * @param s3Face the answer to a request signed for S3 ({@code s3.S3Errors#response})
   */
  public ErrorResponseHandler(Function<Throwable, ErrorResponses.ErrorResponse> s3Face) {
    this.s3Face = s3Face;
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable error = Causes.of(cause);
    Channel channel = ctx.channel();
    Exchange e = Exchange.current(channel);
    if (e == null || !channel.isActive()) {
      if (error instanceof IOException || error instanceof ClosedChannelException) {
        log.debug("{}: connection failed: {}", channel.id(), error.getMessage());
      } else if (error instanceof RequestRejected || error instanceof FormatException) {
        // More garbage after a refused request, on a connection that is closing: the client's
        // doing, so not a warning anyone can act on (and a client must not be able to flood the
        // log at warn).
        log.debug("{}: after a refused request: {}", channel.id(), ErrorText.detailLine(error));
      } else {
        log.warn(
            "{}: error outside a request: {}", channel.id(), ErrorText.detailLine(error), error);
      }
      ctx.close();
      return;
    }
    if (e.responseStarted) {
      if (e.note == null) {
        e.note = "aborted";
      }
      log.warn(
          "{}: {} {}: aborting the response after {} bytes: {}",
          channel.id(),
          e.method,
          e.path,
          e.bytesOut,
          ErrorText.detailLine(error));
      ctx.close();
      return;
    }
    try {
      answer(ctx, e, error);
    } catch (RuntimeException | Error bug) {
      log.error(
          "{}: {} {}: cannot answer {}; closing the connection",
          channel.id(),
          e.method,
          e.path,
          ErrorText.detailLine(error),
          bug);
      if (e.note == null) {
        e.note = "aborted";
      }
      ctx.close();
    }
  }

  private void answer(ChannelHandlerContext ctx, Exchange e, Throwable error) {
    Channel channel = ctx.channel();
    ErrorResponses.ErrorResponse answer = e.s3 ? s3Face.apply(error) : ErrorResponses.of(error);
    int status = answer.status().code();
    if (status == 500) {
      log.error("{}: {} {}: internal error", channel.id(), e.method, e.path, error);
    } else if (answer.serverSide()) {
      log.warn(
          "{}: {} {} -> {}: {}",
          channel.id(),
          e.method,
          e.path,
          status,
          ErrorText.detailLine(error));
    } else if (log.isDebugEnabled()) {
      log.debug(
          "{}: {} {} -> {}: {}",
          channel.id(),
          e.method,
          e.path,
          status,
          ErrorText.detailLine(error));
    }
    String body =
        answer.contentType().equals(Responses.TEXT) ? answer.body() + "\n" : answer.body();
    FullHttpResponse response =
        Responses.full(
            answer.status(),
            answer.contentType(),
            body.getBytes(StandardCharsets.UTF_8),
            "HEAD".equals(e.method));
    answer.headers().forEach((name, value) -> response.headers().set(name, value));
    if (!e.requestComplete || e.closeAfterResponse) {
      HttpUtil.setKeepAlive(response, false);
    }
    ctx.writeAndFlush(response);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    // Nothing should get this far; whatever does is released, not leaked.
    log.debug("{}: unhandled {}", ctx.channel().id(), msg.getClass().getSimpleName());
    ReferenceCountUtil.release(msg);
  }
}
