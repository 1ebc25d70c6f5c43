package dev.oranc.common.registry;

import dev.oranc.common.registry.transport.HttpConnection;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * A request body written while it is produced, piece by piece with back-pressure: an upload's
 * {@code PATCH} ({@link BlobUpload}), whose bytes arrive from a producer as the request goes out.
 *
 * <p>Design note. Unlike a byte-array body it is gone once sent, so {@link CallRunner} sends a call
 * carrying one exactly once (its design note says what that rules out). The call's headers say how
 * long the body is ({@code Content-Length}, or {@code Transfer-Encoding: chunked}); the runner adds
 * none. Everything happens on the call's event loop: {@link #start} once the request head is
 * written, {@link #onWritabilityChanged} while the body is being sent. The {@link Sink} closes when
 * the exchange ends (answer, failure, or the call cancelled by its caller): from then on it takes
 * no more bytes (it releases what it is given), so a body never writes into a connection that has
 * gone back to its pool.
 */
interface StreamedBody {

  /** The request head is out: write what there is through {@code sink}, and the rest later. */
  void start(Sink sink);

  /** The connection's writability changed (see {@link Sink#isWritable()}). */
  void onWritabilityChanged();

  /** Where a streamed body goes: the current exchange's connection, while it lasts. */
  final class Sink {

    private final HttpConnection connection;
    private boolean ended;
    private boolean closed;

    Sink(HttpConnection connection) {
      this.connection = connection;
    }

    /** Whether bytes written now still go out: the body has not ended, nor the exchange. */
    boolean isOpen() {
      return !ended && !closed;
    }

    /** Writes {@code piece} (the sink owns it from now on), without flushing. */
    void write(ByteBuf piece) {
      if (!isOpen()) {
        piece.release();
        return;
      }
      connection.writeBody(new DefaultHttpContent(piece), false);
    }

    /** Sends what was written so far. */
    void flush() {
      if (isOpen()) {
        connection.channel().flush();
      }
    }

    /** Ends the body (and flushes). */
    void end() {
      if (isOpen()) {
        ended = true;
        connection.writeBody(LastHttpContent.EMPTY_LAST_CONTENT, true);
      }
    }

    /**
     * False while the connection's write buffer is full (also after {@link #end}, until the last
     * bytes have drained or the exchange is over): the producer should wait.
     */
    boolean isWritable() {
      return closed || connection.isWritable();
    }

    /** The exchange ended: no more bytes go out. */
    void close() {
      closed = true;
    }
  }
}
