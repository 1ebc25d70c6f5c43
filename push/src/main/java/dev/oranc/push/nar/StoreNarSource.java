package dev.oranc.push.nar;

import dev.oranc.common.nix.nar.NarWriter;
import dev.oranc.common.nix.store.StorePath;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * NARs read straight from the store's files with {@link NarWriter}: no {@code nix-store} process,
 * no pipe. Each thread keeps its own writer, and so its buffer, across paths.
 */
public final class StoreNarSource implements NarSource {

  private final ThreadLocal<NarWriter> writers = ThreadLocal.withInitial(NarWriter::new);

  @Override
  public long writeNar(StorePath path, OutputStream out) throws IOException {
    return writers.get().write(Path.of(path.toString()), out);
  }
}
