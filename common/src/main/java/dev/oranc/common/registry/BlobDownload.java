package dev.oranc.common.registry;

import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * A blob whose download has begun: the registry's answer is in, its body not yet read.
 *
 * <p>Nothing is read until {@link #start}; after it, bytes flow to the consumer as fast as it takes
 * them. The consumer pushes back with {@link #pause()} and {@link #resume()} (call them from any
 * thread; they act on {@link #eventLoop()}): while paused, the registry's bytes stay in the socket,
 * so memory does not grow with the size of the blob. A download that is not wanted after all must
 * be {@link #cancel() cancelled}, which closes its connection.
 */
public interface BlobDownload {

  /** 200, or 206 for a range. */
  int status();

  /** The registry's headers ({@code Content-Length}, {@code Content-Range}, …). */
  HttpHeaders headers();

  /** The body's length, or -1 when the registry did not say. */
  long contentLength();

  /** Where the consumer's callbacks run. */
  EventLoop eventLoop();

  void start(BlobConsumer consumer);

  void pause();

  void resume();

  void cancel();
}
