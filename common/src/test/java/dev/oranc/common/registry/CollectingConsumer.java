package dev.oranc.common.registry;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Digest;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;

/**
 * Takes a download's bytes, hashing them and keeping at most {@code keep} of them, and completes
 * {@link #done} with the byte count (or the error).
 */
final class CollectingConsumer implements BlobConsumer {

  final CompletableFuture<Long> done = new CompletableFuture<>();
  private final MessageDigest sha256 = Digest.newSha256();
  private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
  private final int keep;
  private long count;
  volatile int completions;

  CollectingConsumer(int keep) {
    this.keep = keep;
  }

  @Override
  public void onData(ByteBuf data) {
    try {
      count += data.readableBytes();
      sha256.update(data.nioBuffer());
      if (kept.size() < keep) {
        byte[] b = new byte[Math.min(data.readableBytes(), keep - kept.size())];
        data.getBytes(data.readerIndex(), b);
        kept.writeBytes(b);
      }
    } finally {
      data.release();
    }
  }

  @Override
  public void onComplete() {
    completions++;
    done.complete(count);
  }

  @Override
  public void onError(RegistryException error) {
    completions++;
    done.completeExceptionally(error);
  }

  long count() {
    return count;
  }

  byte[] bytes() {
    return kept.toByteArray();
  }

  Digest digest() {
    return Digest.of(sha256.digest());
  }
}
