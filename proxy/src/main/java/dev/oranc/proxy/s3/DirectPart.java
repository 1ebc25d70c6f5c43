package dev.oranc.proxy.s3;

import dev.oranc.common.registry.BlobUpload;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/**
 * The part the blob needs next, while nothing else is being fed: its bytes stream straight into the
 * registry's {@link BlobUpload} as they arrive, with the upload's flow control, and never touch the
 * disk.
 *
 * <p>Design note. This class owns only the byte path and the count of bytes sent; what the end of
 * the part means for the upload is the {@link MultipartSession}'s: a part that ends well is stored
 * and the next one's turn comes; one that breaks off has put bytes into the blob that cannot be
 * taken back, so the whole upload fails.
 *
 * <p>Threads: {@link #write}, {@link #finish} and {@link #abort} are called by the part's
 * connection's event loop (abort also by whatever ends the session); {@link #size} is touched by
 * that loop only. The upload takes bytes from any thread.
 */
final class DirectPart implements MultipartSession.PartSink {

  private final MultipartSession session;
  private final BlobUpload upload;
  private final int number;

  /** Only touched by the part's connection's event loop. */
  private long size;

  DirectPart(MultipartSession session, BlobUpload upload, int number) {
    this.session = session;
    this.upload = upload;
    this.number = number;
  }

  @Override
  public void write(ByteBuf data) {
    size += data.readableBytes();
    upload.write(data);
  }

  @Override
  public boolean isWritable() {
    return upload.isWritable();
  }

  @Override
  public void whenWritable(Runnable r) {
    upload.whenWritable(r);
  }

  @Override
  public CompletableFuture<String> finish(byte[] md5) {
    return session.directFinished(this, number, size, md5);
  }

  @Override
  public void abort(Throwable cause) {
    session.directBroke(this, number, size, cause);
  }
}
