package dev.oranc.push.upload;

import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.registry.BlobUpload;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;

/**
 * A blocking {@link OutputStream} over an asynchronous {@link BlobUpload}, for the CPU threads that
 * compress NARs: bytes are gathered into pooled direct buffers and handed to the upload a buffer at
 * a time; while the upload says it is not writable (it holds as much as it may), the writer blocks
 * until it is. So a CPU thread never runs ahead of the network by more than the upload's bound plus
 * one buffer, and memory stays bounded whatever the NAR's size.
 *
 * <p>A failed upload surfaces as an {@link UploadFailedException} from the next write, carrying the
 * registry's error. One writer thread; not thread-safe.
 */
public final class BlobOutputStream extends OutputStream {

  /** Big enough that the per-buffer hand-off to the event loop costs nothing. */
  public static final int DEFAULT_BUFFER_SIZE = 512 * 1024;

  private final BlobUpload upload;
  private final ByteBufAllocator allocator;
  private final int bufferSize;
  private ByteBuf current;
  private long written;
  private boolean ended;
  private Runnable beforeBlocking = () -> {};
  private Runnable afterBlocking = () -> {};

  public BlobOutputStream(BlobUpload upload, ByteBufAllocator allocator, int bufferSize) {
    if (bufferSize < 4096) {
      throw new IllegalArgumentException("bufferSize: " + bufferSize + " (expected: >= 4096)");
    }
    this.upload = upload;
    this.allocator = allocator;
    this.bufferSize = bufferSize;
  }

  public BlobOutputStream(BlobUpload upload) {
    this(upload, ByteBufAllocator.DEFAULT, DEFAULT_BUFFER_SIZE);
  }

  /**
   * Runs {@code before} when a write is about to wait for the upload (the link is slower than the
   * writer) and {@code after} once it goes on, on the writer's thread: so the writer can give its
   * CPU turn to another path while it waits for the network.
   */
  public void whileBlocked(Runnable before, Runnable after) {
    this.beforeBlocking = before;
    this.afterBlocking = after;
  }

  /** Bytes written so far. */
  public long written() {
    return written;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (ended) {
      throw new IOException("the upload has been finished or aborted");
    }
    while (len > 0) {
      if (current == null) {
        current = allocator.directBuffer(bufferSize, bufferSize);
      }
      int n = Math.min(len, current.writableBytes());
      current.writeBytes(b, off, n);
      off += n;
      len -= n;
      written += n;
      if (!current.isWritable()) {
        send();
      }
    }
  }

  /** Hands the current buffer to the upload once it can take it. */
  private void send() throws IOException {
    awaitWritable();
    ByteBuf b = current;
    current = null;
    upload.write(b);
  }

  private void awaitWritable() throws IOException {
    checkFailed();
    if (upload.isWritable()) {
      return;
    }
    beforeBlocking.run();
    try {
      while (!upload.isWritable()) {
        CountDownLatch latch = new CountDownLatch(1);
        upload.whenWritable(latch::countDown);
        try {
          latch.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          InterruptedIOException ie = new InterruptedIOException("interrupted while uploading");
          abort(ie);
          throw ie;
        }
        checkFailed();
      }
    } finally {
      afterBlocking.run();
    }
  }

  private void checkFailed() throws UploadFailedException {
    CompletableFuture<Descriptor> result = upload.result();
    if (result.isCompletedExceptionally()) {
      releaseCurrent();
      ended = true;
      throw new UploadFailedException(cause(result));
    }
  }

  private static Throwable cause(CompletableFuture<?> f) {
    try {
      f.join();
      return new IllegalStateException("not failed");
    } catch (CompletionException e) {
      return e.getCause() != null ? e.getCause() : e;
    } catch (CancellationException e) {
      return e;
    }
  }

  /** Sends what is buffered and completes the blob: its digest and size, or the failure. */
  public CompletableFuture<Descriptor> finish() throws IOException {
    if (ended) {
      throw new IOException("the upload has been finished or aborted");
    }
    if (current != null && current.isReadable()) {
      send();
    } else {
      releaseCurrent();
    }
    ended = true;
    return upload.finish();
  }

  /** The blob's digest and size once {@link #finish()} has ended the body, before it is stored. */
  public CompletableFuture<Descriptor> described() {
    return upload.described();
  }

  /** Gives the upload up: nothing becomes visible, buffers are released. */
  public void abort(Throwable cause) {
    releaseCurrent();
    if (!ended) {
      ended = true;
      upload.abort(cause);
    }
  }

  /** Aborts unless {@link #finish()} was called: a stream closed early is not a blob. */
  @Override
  public void close() {
    abort(new IOException("the blob stream was closed before it was finished"));
  }

  private void releaseCurrent() {
    if (current != null) {
      current.release();
      current = null;
    }
  }

  /** Wait for the upload's result (tests, dry runs). */
  static <T> T join(CompletableFuture<T> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException();
    } catch (ExecutionException e) {
      throw new UploadFailedException(e.getCause());
    }
  }
}
