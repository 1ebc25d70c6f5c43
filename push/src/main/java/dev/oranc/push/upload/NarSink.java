package dev.oranc.push.upload;

import dev.oranc.common.registry.Descriptor;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;

/** Where a compressed NAR goes: a blob upload, or (in a dry run) nowhere but a digest. */
public interface NarSink extends AutoCloseable {

  /** The stream to write the compressed NAR to, from one thread. */
  OutputStream stream();

  /** Ends the blob: its digest and size once stored. */
  CompletableFuture<Descriptor> finish() throws IOException;

  /** Gives it up; nothing becomes visible. */
  void abort(Throwable cause);

  /** Aborts unless finished. */
  @Override
  void close();
}
