package dev.oranc.common.nix.nar;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.StrictUtf8;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reads and validates a NAR in one pass, reporting its nodes to a {@link NarVisitor}.
 *
 * <p>Only the canonical form is accepted, the one {@code nix-store --dump} writes: tokens in
 * exactly the order of the grammar, zero padding, entries in strictly ascending byte-wise order of
 * their names, and nothing after the root node. Nix 2.8's own parser ({@code parseDump} in {@code
 * libutil/archive.cc}) is looser: it takes a node's fields in any order, does not check the order
 * of entries (later versions do) and stops after the root node. No Nix writes such NARs, and none
 * can have the NarHash Nix records for a path, the hash of its canonical dump.
 *
 * <p>Entry names follow Nix's rules (not empty, {@code .} or {@code ..}, no {@code /} or NUL).
 * Bounds that Nix does not check, but that no NAR of a Linux filesystem exceeds, keep memory
 * bounded against a hostile NAR: names up to {@value #MAX_NAME_LENGTH} bytes (Linux's {@code
 * NAME_MAX}), symlink targets of 1 to {@value #MAX_TARGET_LENGTH} bytes without NUL ({@code
 * symlink(2)} takes at most {@code PATH_MAX} bytes with the NUL), directories nested at most
 * {@value #MAX_DEPTH} deep (Nix reaches each node by its full path, under {@code PATH_MAX}, so it
 * cannot go deeper).
 *
 * <p>Memory is one 64 KiB buffer plus the last entry name of each open directory. File contents are
 * never held: the visitor reads them from a stream bounded to the file, and whatever it leaves is
 * skipped. The reader reads ahead, so it consumes the input to its end; it is meant for a stream
 * that holds one NAR.
 *
 * <p>Errors are {@link FormatException}s located at the byte offset of the offending string (its
 * length field), padding byte or end of input, e.g. {@code NAR: duplicate entry name 'a' (at byte
 * 312)}.
 */
public final class NarReader {

  public static final int MAX_NAME_LENGTH = 255;
  public static final int MAX_TARGET_LENGTH = 4095;
  public static final int MAX_DEPTH = 2048;

  static final int BUFFER_SIZE = 64 * 1024;

  /** Longer than any token ({@code nix-archive-1} has 13 bytes); longer strings are not read. */
  private static final int MAX_TOKEN_LENGTH = 16;

  private static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private static final byte[] ROOT_NAME = new byte[0];
  private static final NarVisitor IGNORE = new NarVisitor() {};

  private enum Token {
    MAGIC("nix-archive-1"),
    OPEN("("),
    CLOSE(")"),
    TYPE("type"),
    REGULAR("regular"),
    SYMLINK("symlink"),
    DIRECTORY("directory"),
    EXECUTABLE("executable"),
    EMPTY(""),
    CONTENTS("contents"),
    TARGET("target"),
    ENTRY("entry"),
    NAME("name"),
    NODE("node");

    final byte[] bytes;

    Token(String text) {
      bytes = text.getBytes(StandardCharsets.US_ASCII);
    }
  }

  private final InputStream in;
  private final String subject;
  private final NarVisitor visitor;
  private final byte[] buffer = new byte[BUFFER_SIZE];
  private int position;
  private int limit;

  /** The NAR offset of {@code buffer[0]}. */
  private long base;

  /** For each open directory, innermost last: its last entry name so far, null before any. */
  private final List<byte[]> lastNames = new ArrayList<>();

  private NarReader(InputStream in, String subject, NarVisitor visitor) {
    this.in = Objects.requireNonNull(in, "in");
    this.subject = Objects.requireNonNull(subject, "subject");
    this.visitor = Objects.requireNonNull(visitor, "visitor");
  }

  /**
   * Reads the NAR that makes up all of {@code in}, reporting it to {@code visitor}.
   *
   * @return the size of the NAR
   * @throws FormatException if {@code in} is not exactly one canonical NAR
   */
  public static long read(InputStream in, NarVisitor visitor) throws IOException {
    return read(in, "NAR", visitor);
  }

  /**
   * As {@link #read(InputStream, NarVisitor)}, naming the NAR {@code subject} in errors, e.g.
   * {@code NAR of /nix/store/...-hello}.
   */
  public static long read(InputStream in, String subject, NarVisitor visitor) throws IOException {
    return new NarReader(in, subject, visitor).read();
  }

  /**
   * Checks that {@code in} is exactly one canonical NAR.
   *
   * @return the size of the NAR
   * @throws FormatException if it is not
   */
  public static long validate(InputStream in) throws IOException {
    return read(in, IGNORE);
  }

  private long read() throws IOException {
    expect("bad magic: expected 'nix-archive-1'", Token.MAGIC);
    node(ROOT_NAME);
    while (!lastNames.isEmpty()) {
      if (expect("expected 'entry' or ')' in a directory", Token.ENTRY, Token.CLOSE)
          == Token.CLOSE) {
        lastNames.remove(lastNames.size() - 1);
        visitor.directoryEnd();
        if (!lastNames.isEmpty()) {
          expect("expected ')' to close the entry", Token.CLOSE);
        }
      } else {
        expect("expected '(' after 'entry'", Token.OPEN);
        expect("expected 'name' in an entry", Token.NAME);
        byte[] name = entryName();
        expect("expected 'node' after the entry name", Token.NODE);
        if (node(name)) {
          expect("expected ')' to close the entry", Token.CLOSE);
        }
      }
    }
    long end = offset();
    if (position < limit || refill() > 0) {
      throw error(end, "trailing bytes after the NAR's root node");
    }
    return end;
  }

  /** Reads a node; returns false if it is a directory, whose entries are still to come. */
  private boolean node(byte[] name) throws IOException {
    long start = offset();
    expect("expected '(' to open a node", Token.OPEN);
    expect("expected 'type'", Token.TYPE);
    Token type =
        expect(
            "expected 'regular', 'symlink' or 'directory' as the node type",
            Token.REGULAR,
            Token.SYMLINK,
            Token.DIRECTORY);
    switch (type) {
      case REGULAR:
        regular(name);
        expect("expected ')' after the file contents", Token.CLOSE);
        return true;
      case SYMLINK:
        symlink(name);
        expect("expected ')' after the symlink target", Token.CLOSE);
        return true;
      default:
        if (lastNames.size() == MAX_DEPTH) {
          throw error(start, "directories nested more than " + MAX_DEPTH + " deep");
        }
        lastNames.add(null);
        visitor.directory(name);
        return false;
    }
  }

  private void regular(byte[] name) throws IOException {
    boolean executable =
        expect(
                "expected 'executable' or 'contents' in a regular file",
                Token.EXECUTABLE,
                Token.CONTENTS)
            == Token.EXECUTABLE;
    if (executable) {
      expect("expected '' after 'executable'", Token.EMPTY);
      expect("expected 'contents' after the executable marker", Token.CONTENTS);
    }
    long start = offset();
    long size = readLong("a file size");
    if (size < 0) {
      throw error(start, "file size " + Long.toUnsignedString(size) + " is out of range");
    }
    Contents contents = new Contents(size);
    visitor.regular(name, executable, size, offset(), contents);
    contents.finish();
    skipPadding(size, "file contents");
  }

  private void symlink(byte[] name) throws IOException {
    expect("expected 'target' in a symlink", Token.TARGET);
    long start = offset();
    long length = readLong("a symlink target's length");
    if (length == 0) {
      throw error(start, "empty symlink target");
    }
    if (length < 0 || length > MAX_TARGET_LENGTH) {
      throw error(
          start,
          "symlink target of "
              + Long.toUnsignedString(length)
              + " bytes, longer than the "
              + MAX_TARGET_LENGTH
              + " Linux allows");
    }
    byte[] target = readBytes((int) length, "a symlink target");
    if (indexOf(target, (byte) 0) >= 0) {
      throw error(start, "symlink target " + quote(target) + " contains a NUL byte");
    }
    visitor.symlink(name, target);
  }

  private byte[] entryName() throws IOException {
    long start = offset();
    long length = readLong("an entry name's length");
    if (length == 0) {
      throw error(start, "empty entry name");
    }
    if (length < 0 || length > MAX_NAME_LENGTH) {
      throw error(
          start,
          "entry name of "
              + Long.toUnsignedString(length)
              + " bytes, longer than the "
              + MAX_NAME_LENGTH
              + " a file name can have");
    }
    byte[] name = readBytes((int) length, "an entry name");
    if (isDots(name)) {
      throw error(start, "entry name " + quote(name) + " is not allowed");
    }
    if (indexOf(name, (byte) '/') >= 0) {
      throw error(start, "entry name " + quote(name) + " contains '/'");
    }
    if (indexOf(name, (byte) 0) >= 0) {
      throw error(start, "entry name " + quote(name) + " contains a NUL byte");
    }
    int top = lastNames.size() - 1;
    byte[] last = lastNames.get(top);
    if (last != null) {
      int order = Arrays.compareUnsigned(last, name);
      if (order == 0) {
        throw error(start, "duplicate entry name " + quote(name));
      }
      if (order > 0) {
        throw error(
            start,
            "entry name "
                + quote(name)
                + " follows "
                + quote(last)
                + ": entries must be in ascending byte-wise order");
      }
    }
    lastNames.set(top, name);
    return name;
  }

  private static boolean isDots(byte[] name) {
    return (name.length == 1 && name[0] == '.')
        || (name.length == 2 && name[0] == '.' && name[1] == '.');
  }

  /** Reads a token that must be one of {@code allowed}; {@code expectation} opens the error. */
  private Token expect(String expectation, Token... allowed) throws IOException {
    long start = offset();
    long length = readLong("a string length");
    if (length < 0 || length > MAX_TOKEN_LENGTH) {
      throw error(
          start, expectation + ", found a string of " + Long.toUnsignedString(length) + " bytes");
    }
    int n = (int) length;
    ensure(n, "a string");
    for (Token token : allowed) {
      if (Arrays.equals(buffer, position, position + n, token.bytes, 0, token.bytes.length)) {
        position += n;
        skipPadding(n, "'" + new String(token.bytes, StandardCharsets.US_ASCII) + "'");
        return token;
      }
    }
    throw error(start, expectation + ", found " + quote(buffer, position, n));
  }

  private long readLong(String what) throws IOException {
    ensure(8, what);
    long value = (long) LONG_LE.get(buffer, position);
    position += 8;
    return value;
  }

  private byte[] readBytes(int length, String what) throws IOException {
    ensure(length, what);
    byte[] bytes = Arrays.copyOfRange(buffer, position, position + length);
    position += length;
    skipPadding(length, what);
    return bytes;
  }

  private void skipPadding(long length, String what) throws IOException {
    int padding = NarFormat.padding(length);
    ensure(padding, "the padding after " + what);
    for (int i = 0; i < padding; i++) {
      if (buffer[position + i] != 0) {
        throw error(
            offset() + i,
            String.format("non-zero padding byte 0x%02x after %s", buffer[position + i], what));
      }
    }
    position += padding;
  }

  /** Makes {@code n <= BUFFER_SIZE} bytes available from {@code position}. */
  private void ensure(int n, String what) throws IOException {
    if (limit - position >= n) {
      return;
    }
    System.arraycopy(buffer, position, buffer, 0, limit - position);
    base += position;
    limit -= position;
    position = 0;
    while (limit < n) {
      int read = in.read(buffer, limit, buffer.length - limit);
      if (read < 0) {
        throw truncated(what);
      }
      limit += read;
    }
  }

  /** With the buffer used up, reads more into it; returns the count, -1 at the end of input. */
  private int refill() throws IOException {
    base += limit;
    position = 0;
    limit = 0;
    int read;
    do {
      read = in.read(buffer, 0, buffer.length);
    } while (read == 0);
    limit = Math.max(read, 0);
    return read;
  }

  private long offset() {
    return base + position;
  }

  private FormatException truncated(String what) {
    return error(base + limit, "truncated: the input ends inside " + what);
  }

  private FormatException error(long offset, String problem) {
    return new FormatException(subject, "byte " + offset, problem);
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  static String quote(byte[] bytes) {
    return quote(bytes, 0, bytes.length);
  }

  /**
   * {@code bytes} in single quotes for a message: as text if it is UTF-8, with control characters,
   * quote and backslash escaped as {@code \xNN}; otherwise non-ASCII bytes escaped too.
   */
  static String quote(byte[] bytes, int from, int length) {
    StringBuilder out = new StringBuilder(length + 2).append('\'');
    String text = StrictUtf8.decode(bytes, from, length).orElse(null);
    if (text != null) {
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
          out.append(String.format("\\x%02x", (int) c));
        } else {
          out.append(c);
        }
      }
    } else {
      for (int i = from; i < from + length; i++) {
        int b = bytes[i] & 0xff;
        if (b < 0x20 || b >= 0x7f || b == '\'' || b == '\\') {
          out.append(String.format("\\x%02x", b));
        } else {
          out.append((char) b);
        }
      }
    }
    return out.append('\'').toString();
  }

  /** One file's contents, read through the reader's buffer; never past the file's end. */
  private final class Contents extends InputStream {

    private final long size;
    private long remaining;
    private boolean finished;

    Contents(long size) {
      this.size = size;
      this.remaining = size;
    }

    @Override
    public int read() throws IOException {
      if (finished || remaining == 0) {
        return -1;
      }
      if (position == limit) {
        fill();
      }
      remaining--;
      return buffer[position++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (len == 0) {
        return 0;
      }
      if (finished || remaining == 0) {
        return -1;
      }
      int wanted = (int) Math.min(len, remaining);
      if (position == limit) {
        if (wanted >= buffer.length) {
          // A large read bypasses the buffer; the offset moves with base.
          int read = in.read(b, off, wanted);
          if (read < 0) {
            throw truncated(what());
          }
          base += read;
          remaining -= read;
          return read;
        }
        fill();
      }
      int n = Math.min(wanted, limit - position);
      System.arraycopy(buffer, position, b, off, n);
      position += n;
      remaining -= n;
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      if (finished || n <= 0) {
        return 0;
      }
      long toSkip = Math.min(n, remaining);
      long left = toSkip;
      while (left > 0) {
        if (position == limit) {
          fill();
        }
        int step = (int) Math.min(left, limit - position);
        position += step;
        left -= step;
      }
      remaining -= toSkip;
      return toSkip;
    }

    @Override
    public int available() {
      return finished ? 0 : (int) Math.min(remaining, limit - position);
    }

    @Override
    public void close() {
      // The reader owns the input and skips what is left after the visitor.
    }

    void finish() throws IOException {
      skip(remaining);
      finished = true;
    }

    private void fill() throws IOException {
      if (refill() < 0) {
        throw truncated(what());
      }
    }

    private String what() {
      return "the contents of a " + size + "-byte file";
    }
  }
}
