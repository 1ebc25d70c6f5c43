package dev.oranc.proxy.request;

import dev.oranc.proxy.route.Route;
import io.netty.handler.codec.http.HttpRequest;

/**
 * A request's head with its route: what the handlers after {@link RouteHandler} receive instead of
 * the bare {@link HttpRequest}. Never reference-counted (a body always follows as {@code
 * HttpContent}, even when the decoder produced a full request).
 */
public record RoutedRequest(HttpRequest request, Route route) {

  /**
   * A body to be stored from an S3 client — a PUT of a file signed for S3, or a multipart upload's
   * part (an S3 operation whoever sends it): aws-chunked and checksums apply.
   */
  public boolean isS3Upload() {
    if (route instanceof Route.Multipart m) {
      return m.operation() == Route.Multipart.Operation.PART;
    }
    return route instanceof Route.File f
        && f.method() == Route.Method.PUT
        && S3Request.isSigned(request);
  }
}
