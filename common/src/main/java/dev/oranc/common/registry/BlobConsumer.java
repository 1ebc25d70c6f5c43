package dev.oranc.common.registry;

import dev.oranc.common.error.RegistryException;
import io.netty.buffer.ByteBuf;

/**
 * Receives a blob's bytes as they arrive, on the download's event loop. Exactly one of {@link
 * #onComplete} or {@link #onError} ends the stream; after {@link BlobDownload#cancel()} neither is
 * called.
 */
public interface BlobConsumer {

  /** The next bytes. The consumer owns {@code data} and must release it (or pass it on). */
  void onData(ByteBuf data);

  /** Every byte of the body has been delivered. */
  void onComplete();

  /**
   * The stream broke: the connection failed, timed out, or closed early. The bytes delivered so far
   * are not the whole blob; treat the transfer as failed.
   */
  void onError(RegistryException error);
}
