package dev.oranc.proxy.s3;

import dev.oranc.proxy.request.RoutedRequest;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * A filter on the body of an S3 upload: {@link #start} decides from the routed head whether the
 * body is this filter's (and with what state), {@link #content} sees each piece of it. A body
 * refused, at its head or half-way, becomes an {@link S3Rejected} down the pipeline in place of the
 * rest, which is dropped here: the upload aborts on the error and nothing is published. Everything
 * else passes untouched.
 *
 * @param <S> the state of one body
 */
abstract class S3BodyFilter<S> extends ChannelInboundHandlerAdapter {

  private S state;
  private boolean discarding;

  /** The state for this request's body, or null when it passes untouched. */
  abstract S start(RoutedRequest routed);

  /**
   * A piece of a body this filter took on, which it now owns; {@code last} ends the body (the state
   * is forgotten then). A refusal goes through {@link #reject}.
   */
  abstract void content(ChannelHandlerContext ctx, S state, HttpContent content, boolean last);

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof RoutedRequest routed) {
      state = null;
      discarding = false;
      try {
        state = start(routed);
      } catch (S3Rejected e) {
        discarding = true;
        ctx.fireExceptionCaught(e);
        return;
      }
      ctx.fireChannelRead(msg);
      return;
    }
    if (!(msg instanceof HttpContent content) || (state == null && !discarding)) {
      ctx.fireChannelRead(msg);
      return;
    }
    boolean last = msg instanceof LastHttpContent;
    if (discarding) {
      content.release();
      discarding = !last;
      return;
    }
    S s = state;
    if (last) {
      state = null;
    }
    content(ctx, s, content, last);
  }

  /** Refuses the body: {@code content} is released, and the rest of the body dropped. */
  final void reject(ChannelHandlerContext ctx, HttpContent content, boolean last, S3Rejected e) {
    content.release();
    state = null;
    discarding = !last;
    ctx.fireExceptionCaught(e);
  }
}
