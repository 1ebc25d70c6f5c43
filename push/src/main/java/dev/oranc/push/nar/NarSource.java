package dev.oranc.push.nar;

import dev.oranc.common.nix.store.StorePath;
import java.io.IOException;
import java.io.OutputStream;

/** Produces the NAR serialisation of a store path, streaming. */
@FunctionalInterface
public interface NarSource {

  /**
   * Writes the NAR of {@code path} to {@code out} (neither flushed nor closed). May be called from
   * several threads at once, for different paths.
   *
   * @return the number of bytes written
   */
  long writeNar(StorePath path, OutputStream out) throws IOException;
}
