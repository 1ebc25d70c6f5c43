package dev.oranc.proxy.http;

import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.route.Route;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/** The banner ({@code GET /}), {@code /-/health} and {@code /-/metrics}. */
final class ServiceHandler extends ChannelInboundHandlerAdapter {

  static final String BANNER = "oranc: OCI Registry As Nix Cache";
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final ServerMetrics metrics;
  private final BooleanSupplier draining;
  private boolean consuming;

  ServiceHandler(ServerMetrics metrics, BooleanSupplier draining) {
    this.metrics = metrics;
    this.draining = draining;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof RoutedRequest routed && !(routed.route() instanceof Route.File)) {
      consuming = true;
      boolean head = routed.request().method().equals(HttpMethod.HEAD);
      Route route = routed.route();
      if (route instanceof Route.Banner) {
        ctx.writeAndFlush(Responses.full(HttpResponseStatus.OK, Responses.TEXT, bytes(BANNER + "\n"), head));
      } else if (route instanceof Route.Health) {
        boolean up = !draining.getAsBoolean();
        ctx.writeAndFlush(
            Responses.full(
                up ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                Responses.TEXT,
                bytes(up ? "ok\n" : "shutting down\n"),
                head));
      } else if (route instanceof Route.Metrics) {
        ctx.writeAndFlush(Responses.full(HttpResponseStatus.OK, PROMETHEUS_TEXT, bytes(metrics.scrape()), head));
      }
      return;
    }
    if (consuming && msg instanceof HttpContent content) {
      content.release();
      if (msg instanceof LastHttpContent) {
        consuming = false;
      }
      return;
    }
    ctx.fireChannelRead(msg);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
