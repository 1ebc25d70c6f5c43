package dev.oranc.proxy.request;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Answers {@code Expect: 100-continue} at once. Nix (curl) sends it on every PUT, even a 21-byte
 * one, and waits about a second for the interim answer otherwise. It sits after routing, so a
 * request the server refuses gets its final answer instead and the client never sends the body.
 */
public final class ExpectContinueHandler extends ChannelInboundHandlerAdapter {

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof RoutedRequest routed) {
      answer(ctx, routed.request());
    }
    ctx.fireChannelRead(msg);
  }

  /**
   * Sends {@code 100 Continue} if {@code request} expects it (for handlers that decide before this
   * one).
   */
  static void answer(ChannelHandlerContext ctx, HttpRequest request) {
    if (HttpUtil.is100ContinueExpected(request)) {
      request.headers().remove(HttpHeaderNames.EXPECT);
      ctx.writeAndFlush(
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
    }
  }
}
