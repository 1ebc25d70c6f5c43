package dev.oranc.proxy.http;

import dev.oranc.proxy.route.Route;
import io.netty.handler.codec.http.HttpRequest;

/**
 * A request's head with its route: what the handlers after {@link RouteHandler} receive instead of
 * the bare {@link HttpRequest}. Never reference-counted (a body always follows as {@code
 * HttpContent}, even when the decoder produced a full request).
 */
record RoutedRequest(HttpRequest request, Route route) {}
