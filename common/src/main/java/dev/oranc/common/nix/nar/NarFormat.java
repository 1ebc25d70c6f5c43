package dev.oranc.common.nix.nar;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The byte-level pieces of a NAR shared by {@link NarWriter} and {@link NarReader}.
 *
 * <p>Every NAR string is a u64 little-endian length, the bytes, and zero padding to a multiple of
 * 8. The writer emits fixed token runs as single precomputed arrays ({@link #REGULAR_HEAD} is
 * {@code ( type regular contents}) so a regular file costs one copy for its header instead of four
 * length-prefix-pad sequences.
 */
final class NarFormat {

  static final byte[] MAGIC = strings("nix-archive-1");
  static final byte[] REGULAR_HEAD = strings("(", "type", "regular", "contents");
  static final byte[] EXECUTABLE_HEAD =
      strings("(", "type", "regular", "executable", "", "contents");
  static final byte[] SYMLINK_HEAD = strings("(", "type", "symlink", "target");
  static final byte[] DIRECTORY_HEAD = strings("(", "type", "directory");
  static final byte[] ENTRY_HEAD = strings("entry", "(", "name");
  static final byte[] NODE = strings("node");
  static final byte[] CLOSE = strings(")");

  /** {@code ) )}: closes an entry's node, then the entry. */
  static final byte[] CLOSE_CLOSE = strings(")", ")");

  private NarFormat() {}

  /** The length of {@code length} bytes padded to a multiple of 8. */
  static long padded(long length) {
    return (length + 7) & ~7L;
  }

  /** The number of zero bytes that follow {@code length} bytes. */
  static int padding(long length) {
    return (int) (-length & 7);
  }

  /** The size of a whole NAR string of {@code length} bytes: length field, bytes, padding. */
  static long stringSize(long length) {
    return 8 + padded(length);
  }

  private static byte[] strings(String... tokens) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String token : tokens) {
      byte[] bytes = token.getBytes(StandardCharsets.US_ASCII);
      long length = bytes.length;
      for (int i = 0; i < 8; i++) {
        out.write((int) (length >>> (8 * i)));
      }
      out.write(bytes, 0, bytes.length);
      out.write(new byte[padding(bytes.length)], 0, padding(bytes.length));
    }
    return out.toByteArray();
  }
}
