package dev.oranc.proxy.s3;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/**
 * A part sent again after it streamed on (a client retrying): its bytes are dropped as they arrive,
 * and once it has ended the {@link MultipartSession} compares its MD5 with the stored one's — the
 * same is answered with the earlier ETag, another is {@link S3Rejected.InvalidPart}: bytes in the
 * registry's session cannot be replaced.
 *
 * <p>Threads: called by the part's connection's event loop (abort also by whatever ends the
 * session); it holds no state of its own.
 */
final class DuplicatePart implements MultipartSession.PartSink {

  private final MultipartSession session;
  private final int number;

  DuplicatePart(MultipartSession session, int number) {
    this.session = session;
    this.number = number;
  }

  @Override
  public void write(ByteBuf data) {
    data.release();
  }

  @Override
  public boolean isWritable() {
    return true;
  }

  @Override
  public void whenWritable(Runnable r) {
    r.run();
  }

  @Override
  public CompletableFuture<String> finish(byte[] md5) {
    return session.duplicateFinished(this, number, md5);
  }

  @Override
  public void abort(Throwable cause) {
    session.dropped(this);
  }
}
