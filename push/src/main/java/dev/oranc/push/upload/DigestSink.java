package dev.oranc.push.upload;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;

/**
 * A dry run's NAR "upload": the SHA-256 and size of what would have been sent. A dry run compresses
 * every missing NAR as a push would, so the same checks against the database run, and sends
 * nothing.
 */
final class DigestSink implements NarSink {
  private final MessageDigest sha256 = Digest.newSha256();
  private long size;
  private final OutputStream stream =
      new OutputStream() {
        @Override
        public void write(int b) {
          sha256.update((byte) b);
          size++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
          sha256.update(b, off, len);
          size += len;
        }
      };

  @Override
  public OutputStream stream() {
    return stream;
  }

  private CompletableFuture<Descriptor> finished;

  @Override
  public CompletableFuture<Descriptor> finish() {
    finished =
        CompletableFuture.completedFuture(
            new Descriptor(ImageLayout.LAYER_MEDIA_TYPE, Digest.of(sha256.digest()), size));
    return finished;
  }

  @Override
  public CompletableFuture<Descriptor> described() {
    return finished;
  }

  @Override
  public void abort(Throwable cause) {}

  @Override
  public void close() {}
}
