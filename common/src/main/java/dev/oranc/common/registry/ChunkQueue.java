package dev.oranc.common.registry;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;

/**
 * The bytes of an upload waiting to be sent, in order, and how many they are. It owns them until
 * they are taken; used on the upload's event loop only.
 */
final class ChunkQueue {

  private final ArrayDeque<ByteBuf> buffers = new ArrayDeque<>();
  private long bytes;

  /** Appends {@code b} (the queue owns it now). */
  void add(ByteBuf b) {
    buffers.add(b);
    bytes += b.readableBytes();
  }

  long bytes() {
    return bytes;
  }

  boolean isEmpty() {
    return buffers.isEmpty();
  }

  /** Up to {@code max} bytes from the front: a whole buffer, or a retained slice of the first. */
  ByteBuf take(long max) {
    ByteBuf first = buffers.peek();
    ByteBuf piece =
        first.readableBytes() <= max ? buffers.poll() : first.readRetainedSlice((int) max);
    bytes -= piece.readableBytes();
    return piece;
  }

  /** Everything queued, copied out; the buffers are released. */
  byte[] drain() {
    byte[] all = new byte[(int) bytes];
    int at = 0;
    ByteBuf b;
    while ((b = buffers.poll()) != null) {
      int n = b.readableBytes();
      b.readBytes(all, at, n);
      at += n;
      b.release();
    }
    bytes = 0;
    return all;
  }

  /** Drops everything queued. */
  void clear() {
    ByteBuf b;
    while ((b = buffers.poll()) != null) {
      b.release();
    }
    bytes = 0;
  }
}
