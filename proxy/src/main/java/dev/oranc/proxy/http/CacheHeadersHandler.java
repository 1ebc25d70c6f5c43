package dev.oranc.proxy.http;

import dev.oranc.proxy.request.Exchange;
import dev.oranc.proxy.request.S3Request;
import dev.oranc.proxy.route.Route;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;

/**
 * Puts {@link CacheHeaders} on every answer's head as it is written, whichever handler wrote it (a
 * file, an error, the banner, an S3 answer): one place, so no answer can go out without them.
 *
 * <p>Sits after {@code access-log}: the requests it sees have passed the pipelining gate, one at a
 * time, and the {@link Exchange} (with the route, when the request had one) is still set when the
 * answer's head passes on its way out. Whether the request carried credentials is read from the
 * request itself, so a request refused before routing (a malformed {@code Authorization}) is
 * counted as one with credentials too.
 */
public final class CacheHeadersHandler extends ChannelDuplexHandler {

  private final CacheHeaders policy;
  private boolean credentialed;

  public CacheHeadersHandler(CacheHeaders policy) {
    this.policy = policy;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      credentialed =
          request.headers().contains(HttpHeaderNames.AUTHORIZATION) || S3Request.isSigned(request);
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse response
        && response.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
      Exchange e = Exchange.current(ctx.channel());
      Route route = e == null ? null : e.route();
      policy.apply(response.headers(), response.status().code(), route, credentialed);
    }
    ctx.write(msg, promise);
  }
}
