package dev.oranc.push.upload;

import dev.oranc.common.oci.Descriptor;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;

/** Where a compressed NAR goes: a blob upload, or (in a dry run) nowhere but a digest. */
public interface NarSink extends AutoCloseable {

  /** The stream to write the compressed NAR to, from one thread. */
  OutputStream stream();

  /** Ends the blob: its digest and size once stored. */
  CompletableFuture<Descriptor> finish() throws IOException;

  /**
   * The blob's digest and size once {@link #finish()} has ended it, possibly before the registry
   * has it: what depends only on them may go up meanwhile. Null (the default) when a sink cannot
   * tell before the blob is stored.
   */
  default CompletableFuture<Descriptor> described() {
    return null;
  }

  /**
   * {@code before} runs when a write is about to wait for the network, {@code after} when it goes
   * on (both on the writer's thread); by default writes never wait.
   */
  default void whileBlocked(Runnable before, Runnable after) {}

  /** Gives it up; nothing becomes visible. */
  void abort(Throwable cause);

  /** Aborts unless finished. */
  @Override
  void close();
}
