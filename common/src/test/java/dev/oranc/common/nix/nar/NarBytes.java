package dev.oranc.common.nix.nar;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds NAR bytes string by string, independently of {@link NarFormat}: the expected output of the
 * writer, and crafted (often broken) input for the reader. {@link #size()} is the offset the next
 * piece lands at, which is what the reader's errors must name.
 */
final class NarBytes {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  /** NAR strings: each a u64 length, its UTF-8 bytes, zero padding to a multiple of 8. */
  NarBytes str(String... texts) {
    for (String text : texts) {
      str(text.getBytes(StandardCharsets.UTF_8));
    }
    return this;
  }

  NarBytes str(byte[] bytes) {
    u64(bytes.length);
    raw(bytes);
    return zeros((8 - bytes.length % 8) % 8);
  }

  NarBytes u64(long value) {
    for (int i = 0; i < 8; i++) {
      out.write((int) (value >>> (8 * i)));
    }
    return this;
  }

  NarBytes raw(byte... bytes) {
    out.write(bytes, 0, bytes.length);
    return this;
  }

  NarBytes raw(String text) {
    return raw(text.getBytes(StandardCharsets.UTF_8));
  }

  NarBytes zeros(int count) {
    return raw(new byte[count]);
  }

  /** A regular file's node, from {@code (} to {@code )}. */
  NarBytes regular(boolean executable, byte[] contents) {
    str("(", "type", "regular");
    if (executable) {
      str("executable", "");
    }
    return str("contents").str(contents).str(")");
  }

  NarBytes regular(String contents) {
    return regular(false, contents.getBytes(StandardCharsets.UTF_8));
  }

  NarBytes symlink(String target) {
    return str("(", "type", "symlink", "target", target, ")");
  }

  /** {@code entry ( name NAME node}: the node and {@code )} must follow. */
  NarBytes entry(String name) {
    return str("entry", "(", "name", name, "node");
  }

  int size() {
    return out.size();
  }

  byte[] toByteArray() {
    return out.toByteArray();
  }

  static NarBytes nar() {
    return new NarBytes().str("nix-archive-1");
  }
}
