package dev.oranc.proxy.request;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.route.Route;
import dev.oranc.proxy.route.Router;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Reads each request's route ({@link Router}: path, query, credentials) and passes a {@link
 * RoutedRequest} on. A request that names nothing servable, or a registry {@code --allow-registry}
 * does not name ({@link RegistryAllowList}), is refused here, before any registry is asked: the
 * error goes to {@link ErrorResponseHandler} and the request's body, if any, is dropped as it
 * arrives.
 */
public final class RouteHandler extends ChannelInboundHandlerAdapter {

  private final Router router;
  private final RegistryAllowList allowList;
  private final BooleanSupplier draining;
  private boolean discarding;

  public RouteHandler(Router router, RegistryAllowList allowList, BooleanSupplier draining) {
    this.router = router;
    this.allowList = allowList;
    this.draining = draining;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      discarding = false;
      Exchange exchange = Exchange.current(ctx.channel());
      if (exchange != null) {
        exchange.s3 = S3Request.isSigned(request);
      }
      Route route;
      try {
        if (draining.getAsBoolean()) {
          throw new RequestRejected.ShuttingDown();
        }
        List<String> authorization = request.headers().getAll(HttpHeaderNames.AUTHORIZATION);
        if (authorization.size() > 1) {
          // Which one would the registry see? Refuse rather than guess (a proxy in front may pick
          // the other one).
          throw new RequestRejected.BadRequest("the Authorization header is sent more than once");
        }
        route =
            router.route(
                request.method().name(),
                request.uri(),
                authorization.isEmpty() ? null : authorization.get(0));
        allowList.check(route);
      } catch (RequestRejected | FormatException | RegistryException.Refused e) {
        if (request instanceof FullHttpRequest full) {
          full.release();
        } else {
          discarding = true;
        }
        ctx.fireExceptionCaught(e);
        return;
      }
      if (exchange != null) {
        exchange.route = route;
        exchange.s3 |= route instanceof Route.Multipart;
      }
      if (request instanceof FullHttpRequest full) {
        // Head and body as separate messages, so every handler after this one sees one shape.
        HttpRequest head =
            new DefaultHttpRequest(
                full.protocolVersion(), full.method(), full.uri(), full.headers());
        ctx.fireChannelRead(new RoutedRequest(head, route));
        ctx.fireChannelRead(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
      } else {
        ctx.fireChannelRead(new RoutedRequest(request, route));
      }
      return;
    }
    if (discarding && msg instanceof HttpContent content) {
      content.release();
      if (msg instanceof LastHttpContent) {
        discarding = false;
      }
      return;
    }
    ctx.fireChannelRead(msg);
  }
}
