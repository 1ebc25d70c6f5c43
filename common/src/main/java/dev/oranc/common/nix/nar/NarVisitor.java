package dev.oranc.common.nix.nar;

import java.io.IOException;
import java.io.InputStream;

/**
 * What {@link NarReader} reports as it reads a NAR, in NAR order: depth first, a directory's
 * entries in ascending byte-wise order of their names. Every method does nothing by default.
 *
 * <p>Each node comes with its {@code name} in its parent directory: the bytes as the NAR holds them
 * (usually UTF-8, but Nix does not require it), in a fresh array the visitor may keep. The root
 * node's name is empty; no entry's is.
 */
public interface NarVisitor {

  /** A directory starts; its entries' nodes follow, then {@link #directoryEnd()}. */
  default void directory(byte[] name) throws IOException {}

  /** The directory most recently started has no more entries. */
  default void directoryEnd() throws IOException {}

  /**
   * A regular file.
   *
   * @param executable whether Nix marks it executable
   * @param size the length of its contents
   * @param contentsOffset where in the NAR its contents start (as {@code narOffset} in Nix's {@code
   *     .ls} listings)
   * @param contents exactly {@code size} bytes, valid until this method returns; read what is
   *     needed, the reader skips the rest. Reads fail with a {@code FormatException} if the NAR
   *     ends inside the contents. Closing it does nothing.
   */
  default void regular(
      byte[] name, boolean executable, long size, long contentsOffset, InputStream contents)
      throws IOException {}

  /** A symlink; {@code target} is the bytes as the NAR holds them, in a fresh array. */
  default void symlink(byte[] name, byte[] target) throws IOException {}
}
