package dev.oranc.proxy.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Answers {@code Expect: 100-continue} at once. Nix (curl) sends it on every PUT, even a 21-byte
 * one, and waits about a second for the interim answer otherwise. It sits after routing, so a
 * request the server refuses gets its final answer instead and the client never sends the body.
 */
final class ExpectContinueHandler extends ChannelInboundHandlerAdapter {

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof RoutedRequest routed && HttpUtil.is100ContinueExpected(routed.request())) {
      routed.request().headers().remove(HttpHeaderNames.EXPECT);
      ctx.writeAndFlush(
          new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
    }
    ctx.fireChannelRead(msg);
  }
}
