package dev.oranc.common.registry.transport;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponse;

/**
 * Receives one HTTP response, always on the connection's event loop, in this order: {@link #onHead}
 * once, {@link #onContent} any number of times, then exactly one of {@link #onEnd} or {@link
 * #onError} (which may also come first, when no response arrives at all).
 */
public interface ResponseListener {

  void onHead(HttpResponse head);

  /** A piece of the body; the listener owns it and must release it. */
  void onContent(ByteBuf content);

  /** The whole response has arrived; the connection is already back in its pool (or closed). */
  void onEnd();

  /** The exchange failed (connection lost, timed out, malformed); the connection is closed. */
  void onError(Throwable cause);
}
