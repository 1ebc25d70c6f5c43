package dev.oranc.proxy.request;

import dev.oranc.proxy.route.Route;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/**
 * One request and its response on one connection: what the access log prints, and the few facts
 * other handlers must agree on (has the response begun, has the request body ended, is the server
 * waiting on the client or on the registry). Lives in a channel attribute from the moment the
 * request's head is read until its response has been written or the connection has gone.
 *
 * <p>Only touched on the channel's event loop. Public for the handlers of both faces: the S3 body
 * checks ({@code proxy.s3}) leave the body's MD5 here ({@link #recordBodyMd5}), the cache headers
 * read the route ({@link #route()}), the assembly asks whether a connection is idle.
 */
public final class Exchange {

  static final AttributeKey<Exchange> KEY = AttributeKey.valueOf("oranc.exchange");

  final String method;

  /** The request path without its query (which may carry secrets in a presigned URL). */
  final String path;

  final long startNanos;

  Route route;
  int status;
  long bytesIn;
  long bytesOut;
  boolean requestComplete;
  boolean responseStarted;

  /**
   * Close the connection once the response is written (a decoder failure: the rest is unreadable).
   */
  boolean closeAfterResponse;

  /** The request is signed for S3: errors are answered in S3's XML shape. */
  boolean s3;

  /** MD5 of the request body, once it has all arrived (S3 PUTs only: the ETag). */
  byte[] bodyMd5;

  /** Reading is paused because the registry is slower than the client (an upload). */
  boolean readingPaused;

  /** {@code hit}, {@code miss} or {@code -}: the key-to-layer lookup. */
  String layer = "-";

  /** {@code hit}, {@code miss}, {@code stream} or {@code -}: how the body was obtained. */
  String body = "-";

  /**
   * A short word on how the exchange ended when it is not plain: {@code redirect}, {@code aborted},
   * {@code write-failed}.
   */
  String note;

  /** A write of the response failed (the connection is being closed); reported once. */
  boolean writeFailed;

  /** The access-log line has been written: once per exchange, however it ends. */
  boolean logged;

  Exchange(String method, String path, long startNanos) {
    this.method = method;
    this.path = path;
    this.startNanos = startNanos;
  }

  /** The exchange in progress on {@code channel}, or null. */
  public static Exchange current(Channel channel) {
    return channel.attr(KEY).get();
  }

  /** The request's route, once routed; else null. */
  public Route route() {
    return route;
  }

  /** Keeps the MD5 of the current request's body, once it has all arrived (the S3 ETag). */
  public static void recordBodyMd5(Channel channel, byte[] md5) {
    Exchange exchange = current(channel);
    if (exchange != null) {
      exchange.bodyMd5 = md5;
    }
  }

  /**
   * Stops reading the client's body while the registry takes it more slowly than it arrives (an
   * upload whose sink is not writable); {@link #resumeReading} when it is again.
   */
  void pauseReading(Channel channel) {
    if (!readingPaused) {
      readingPaused = true;
      channel.config().setAutoRead(false);
    }
  }

  void resumeReading(Channel channel) {
    if (readingPaused) {
      readingPaused = false;
      if (channel.isActive()) {
        channel.config().setAutoRead(true);
      }
    }
  }

  /** The server, not the client, is what the exchange waits on: idleness is not the client's. */
  boolean waitingOnServer() {
    return (requestComplete && !responseStarted) || readingPaused;
  }
}
