package dev.oranc.proxy.http;

import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.RequestHandler;
import dev.oranc.proxy.request.Responses;
import dev.oranc.proxy.request.RoutedRequest;
import dev.oranc.proxy.route.Route;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The banner ({@code GET /}), {@code /-/health} and {@code /-/metrics}. */
public final class ServiceHandler extends RequestHandler {

  private static final Logger log = LoggerFactory.getLogger(ServiceHandler.class);
  static final String BANNER = "oranc: OCI Registry As Nix Cache";
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final ServerMetrics metrics;
  private final BooleanSupplier draining;

  public ServiceHandler(ServerMetrics metrics, BooleanSupplier draining) {
    super(log);
    this.metrics = metrics;
    this.draining = draining;
  }

  @Override
  protected Request accept(ChannelHandlerContext ctx, RoutedRequest routed) {
    return routed.route() instanceof Route.File ? null : new Service(ctx, routed);
  }

  /** One service request, answered at once; its body, if any, is dropped. */
  private final class Service extends Request {
    final Route route;

    Service(ChannelHandlerContext ctx, RoutedRequest routed) {
      super(ctx, routed.request());
      this.route = routed.route();
    }

    @Override
    protected void start() {
      boolean head = request.method().equals(HttpMethod.HEAD);
      if (route instanceof Route.Banner) {
        respond(Responses.full(HttpResponseStatus.OK, Responses.TEXT, bytes(BANNER + "\n"), head));
      } else if (route instanceof Route.Health) {
        boolean up = !draining.getAsBoolean();
        respond(
            Responses.full(
                up ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                Responses.TEXT,
                bytes(up ? "ok\n" : "shutting down\n"),
                head));
      } else if (route instanceof Route.Metrics) {
        respond(
            Responses.full(HttpResponseStatus.OK, PROMETHEUS_TEXT, bytes(metrics.scrape()), head));
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
