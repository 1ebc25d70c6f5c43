package dev.oranc.common.nix.nar;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Serialises a filesystem tree to a NAR, byte for byte as {@code nix-store --dump} of Nix 2.8 does
 * ({@code dumpPath} in {@code libutil/archive.cc}).
 *
 * <p>Design notes:
 *
 * <ul>
 *   <li>What is recorded, as in Nix: the type from {@code lstat} (symlinks are never followed), the
 *       executable flag from the owner's execute bit ({@code S_IXUSR}) alone, a symlink's target as
 *       written, and directory entries in ascending byte-wise order of their names. That is the
 *       order of {@code std::string} in Nix's {@code std::map}, not Java's {@link
 *       String#compareTo}, which compares UTF-16 units and puts U+1F600 (D83D DE00) before U+FB01.
 *       Names are sorted as the bytes {@link FileNameBytes} recovers, and a name whose bytes Java
 *       cannot recover is refused.
 *   <li>Memory: one buffer per writer, whatever the file sizes. Headers, names and padding are
 *       appended to it and file contents are read from a {@link FileChannel} straight into its free
 *       space, so small files and their headers leave in one {@code write} and large files in
 *       buffer-sized {@code write}s. Only directories hold state: their sorted entry list.
 *   <li>A file's length is written before its contents, so it must be known first: it is the size
 *       {@code lstat} gave. Reading must then find exactly that many bytes and the end of the file;
 *       if the file ends early or has more (it changed, or was replaced, in between), the NAR
 *       already on its way is wrong, and the write fails with an {@link IntegrityException}. Nix
 *       notices only a shorter file. Per file that is {@code lstat}, {@code open}, the reads, one
 *       more {@code read} that must find the end, and {@code close}.
 *   <li>Sockets, FIFOs and devices have no NAR form; as in Nix they fail the write, naming the
 *       path.
 * </ul>
 *
 * <p>A writer is not thread-safe; reuse one per thread to keep its buffer.
 */
public final class NarWriter {

  public static final int DEFAULT_BUFFER_SIZE = 128 * 1024;

  /** Large enough that a header and an entry name never need more than one flush. */
  static final int MIN_BUFFER_SIZE = 4096;

  private static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private static final OpenOption[] READ_NOFOLLOW = {
    StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS
  };

  private static final Comparator<Entry> BYTE_ORDER =
      (a, b) -> Arrays.compareUnsigned(a.name, b.name);

  private final byte[] buffer;
  private final ByteBuffer view;
  private OutputStream out;
  private int position;
  private long written;

  public NarWriter() {
    this(DEFAULT_BUFFER_SIZE);
  }

  public NarWriter(int bufferSize) {
    if (bufferSize < MIN_BUFFER_SIZE) {
      throw new IllegalArgumentException(
          "bufferSize: " + bufferSize + " (expected: >= " + MIN_BUFFER_SIZE + ")");
    }
    buffer = new byte[bufferSize];
    view = ByteBuffer.wrap(buffer);
  }

  /**
   * Writes the NAR of {@code root} (a regular file, symlink or directory, not followed if a
   * symlink) to {@code out}, which is neither flushed nor closed. After an exception, what reached
   * {@code out} is not a NAR.
   *
   * @return the size of the NAR, the number of bytes written to {@code out}
   * @throws FormatException if the tree holds a socket, FIFO or device, or a name Java cannot read
   *     exactly
   * @throws IntegrityException if a file changed size while it was read
   */
  public long write(Path root, OutputStream out) throws IOException {
    Objects.requireNonNull(root, "root");
    this.out = Objects.requireNonNull(out, "out");
    position = 0;
    written = 0;
    try {
      put(NarFormat.MAGIC);
      node(root);
      put(NarFormat.CLOSE);
      flush();
      return written;
    } finally {
      this.out = null;
      position = 0;
    }
  }

  /**
   * The size of the NAR of {@code root} as {@link #write} would make it now, found from the tree's
   * metadata without reading file contents: one {@code lstat} per entry, one listing per directory,
   * one {@code readlink} per symlink. Useful for a {@code Content-Length}; if the tree changes in
   * between, the two differ.
   *
   * @throws FormatException as {@link #write} does
   */
  public static long narSize(Path root) throws IOException {
    Objects.requireNonNull(root, "root");
    return NarFormat.MAGIC.length + nodeSize(root) + NarFormat.CLOSE.length;
  }

  /** Writes {@code path}'s node up to, not including, its closing {@code )}. */
  private void node(Path path) throws IOException {
    PosixFileAttributes attributes = attributes(path);
    if (attributes.isRegularFile()) {
      regular(path, isExecutable(attributes), attributes.size());
    } else if (attributes.isDirectory()) {
      directory(path);
    } else if (attributes.isSymbolicLink()) {
      byte[] target = FileNameBytes.target(path, Files.readSymbolicLink(path));
      put(NarFormat.SYMLINK_HEAD);
      putString(target);
    } else {
      throw unsupported(path);
    }
  }

  private void regular(Path path, boolean executable, long size) throws IOException {
    try (FileChannel channel = FileChannel.open(path, READ_NOFOLLOW)) {
      put(executable ? NarFormat.EXECUTABLE_HEAD : NarFormat.REGULAR_HEAD);
      putLong(size);
      copy(path, channel, size);
      putPadding(NarFormat.padding(size));
    }
  }

  private void copy(Path path, FileChannel channel, long size) throws IOException {
    long remaining = size;
    while (remaining > 0) {
      if (position == buffer.length) {
        flush();
      }
      view.limit((int) Math.min(buffer.length, position + remaining)).position(position);
      int n = channel.read(view);
      if (n < 0) {
        throw changed(path, size, "it ended after " + (size - remaining) + " bytes");
      }
      position += n;
      remaining -= n;
    }
    // One more byte would mean the file grew after we wrote its length. The byte lands in free
    // buffer space that position does not cover, so it is never written.
    if (position == buffer.length) {
      flush();
    }
    view.limit(position + 1).position(position);
    if (channel.read(view) > 0) {
      throw changed(path, size, "it grew");
    }
  }

  private void directory(Path path) throws IOException {
    List<Entry> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(path)) {
      for (Path child : stream) {
        entries.add(new Entry(FileNameBytes.name(child), child));
      }
    }
    entries.sort(BYTE_ORDER);
    put(NarFormat.DIRECTORY_HEAD);
    for (Entry entry : entries) {
      put(NarFormat.ENTRY_HEAD);
      putString(entry.name);
      put(NarFormat.NODE);
      node(entry.path);
      put(NarFormat.CLOSE_CLOSE);
    }
  }

  private static long nodeSize(Path path) throws IOException {
    PosixFileAttributes attributes = attributes(path);
    if (attributes.isRegularFile()) {
      byte[] head = isExecutable(attributes) ? NarFormat.EXECUTABLE_HEAD : NarFormat.REGULAR_HEAD;
      return head.length + 8 + NarFormat.padded(attributes.size());
    } else if (attributes.isDirectory()) {
      long size = NarFormat.DIRECTORY_HEAD.length;
      try (DirectoryStream<Path> stream = Files.newDirectoryStream(path)) {
        for (Path child : stream) {
          size +=
              NarFormat.ENTRY_HEAD.length
                  + NarFormat.stringSize(FileNameBytes.name(child).length)
                  + NarFormat.NODE.length
                  + nodeSize(child)
                  + NarFormat.CLOSE_CLOSE.length;
        }
      }
      return size;
    } else if (attributes.isSymbolicLink()) {
      byte[] target = FileNameBytes.target(path, Files.readSymbolicLink(path));
      return NarFormat.SYMLINK_HEAD.length + NarFormat.stringSize(target.length);
    } else {
      throw unsupported(path);
    }
  }

  private static PosixFileAttributes attributes(Path path) throws IOException {
    return Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
  }

  /** Nix's rule: the owner's execute bit ({@code S_IXUSR}), whatever the others' bits are. */
  private static boolean isExecutable(PosixFileAttributes attributes) {
    return attributes.permissions().contains(PosixFilePermission.OWNER_EXECUTE);
  }

  private static FormatException unsupported(Path path) {
    return new FormatException(
        "file '" + path + "'",
        "is a socket, FIFO or device; a NAR holds only regular files, directories and symlinks");
  }

  private static IntegrityException changed(Path path, long size, String what) {
    return new IntegrityException(
        "file '"
            + path
            + "' changed while it was written to a NAR: its size was "
            + size
            + " bytes when the NAR recorded it, then "
            + what);
  }

  private void put(byte[] bytes) throws IOException {
    if (bytes.length > buffer.length - position) {
      flush();
    }
    System.arraycopy(bytes, 0, buffer, position, bytes.length);
    position += bytes.length;
  }

  private void putLong(long value) throws IOException {
    if (buffer.length - position < 8) {
      flush();
    }
    LONG_LE.set(buffer, position, value);
    position += 8;
  }

  private void putPadding(int count) throws IOException {
    if (buffer.length - position < count) {
      flush();
    }
    Arrays.fill(buffer, position, position + count, (byte) 0);
    position += count;
  }

  /** A NAR string: length, bytes, padding. */
  private void putString(byte[] bytes) throws IOException {
    putLong(bytes.length);
    if (bytes.length > buffer.length - position) {
      flush();
      if (bytes.length > buffer.length) {
        // Only a symlink target this long; Linux allows none, but another filesystem might.
        out.write(bytes);
        written += bytes.length;
        putPadding(NarFormat.padding(bytes.length));
        return;
      }
    }
    System.arraycopy(bytes, 0, buffer, position, bytes.length);
    position += bytes.length;
    putPadding(NarFormat.padding(bytes.length));
  }

  private void flush() throws IOException {
    if (position > 0) {
      out.write(buffer, 0, position);
      written += position;
      position = 0;
    }
  }

  /** A directory entry: its name's bytes, by which entries sort, and its path. */
  private record Entry(byte[] name, Path path) {}
}
