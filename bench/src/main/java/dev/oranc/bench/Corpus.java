package dev.oranc.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Realistic bytes for the benchmarks: the files of this machine's shared libraries (binaries, some
 * text), not zeros or random bytes, which compress and hash unlike anything in a Nix store.
 *
 * <p>The source directories are {@code -Doranc.bench.corpus=DIR[:DIR...]}, by default {@code
 * /usr/lib/x86_64-linux-gnu} for binaries and {@code /usr/share} for small text files, falling back
 * to the running JDK's {@code lib} directory where those do not exist. Files are taken in sorted
 * order, so two runs on one machine read the same bytes.
 */
final class Corpus {

  private static final String PROPERTY = "oranc.bench.corpus";

  private Corpus() {}

  /** Directories whose files make up the large inputs. */
  static List<Path> binaryRoots() {
    return roots(List.of(Path.of("/usr/lib/x86_64-linux-gnu"), javaLib()));
  }

  /** Directories whose small files make up a tree of many small files. */
  static List<Path> smallFileRoots() {
    return roots(List.of(Path.of("/usr/share"), Path.of("/usr/lib/x86_64-linux-gnu"), javaLib()));
  }

  private static Path javaLib() {
    return Path.of(System.getProperty("java.home"), "lib");
  }

  private static List<Path> roots(List<Path> defaults) {
    String configured = System.getProperty(PROPERTY);
    List<Path> candidates = new ArrayList<>();
    if (configured != null && !configured.isBlank()) {
      for (String dir : configured.split(":")) {
        candidates.add(Path.of(dir));
      }
    } else {
      candidates.addAll(defaults);
    }
    List<Path> existing = candidates.stream().filter(Files::isDirectory).toList();
    if (existing.isEmpty()) {
      throw new IllegalStateException(
          "no corpus directory exists among " + candidates + " (set -D" + PROPERTY + "=DIR)");
    }
    return existing;
  }

  /** Regular files (symlinks not followed) of at most {@code maxSize} bytes, in sorted order. */
  static List<Path> files(List<Path> roots, long maxSize) {
    List<Path> out = new ArrayList<>();
    for (Path root : roots) {
      try (Stream<Path> walk = Files.walk(root)) {
        walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && Files.isReadable(p))
            .filter(p -> size(p) > 0 && size(p) <= maxSize)
            .sorted()
            .forEach(out::add);
      } catch (IOException | UncheckedIOException e) {
        // An unreadable subdirectory: use what could be listed.
      }
    }
    return out;
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return -1;
    }
  }

  /** {@code size} bytes: the binary files concatenated, repeated if they are fewer. */
  static byte[] bytes(int size) {
    byte[] out = new byte[size];
    int n = 0;
    List<Path> files = files(binaryRoots(), Long.MAX_VALUE);
    while (n < size) {
      int before = n;
      for (Path p : files) {
        try {
          byte[] content = Files.readAllBytes(p);
          int take = Math.min(content.length, size - n);
          System.arraycopy(content, 0, out, n, take);
          n += take;
        } catch (IOException e) {
          continue;
        }
        if (n == size) {
          break;
        }
      }
      if (n == before) {
        throw new IllegalStateException("the corpus " + binaryRoots() + " has no readable bytes");
      }
    }
    return out;
  }

  /** Writes a file of {@code size} corpus bytes. */
  static Path largeFile(Path file, long size) throws IOException {
    byte[] chunk = bytes((int) Math.min(size, 64L << 20));
    try (OutputStream out = Files.newOutputStream(file)) {
      for (long left = size; left > 0; ) {
        int n = (int) Math.min(left, chunk.length);
        out.write(chunk, 0, n);
        left -= n;
      }
    }
    return file;
  }

  /**
   * Copies up to {@code count} small files (at most {@code maxFileSize} bytes each) under {@code
   * dir}, keeping their relative paths, so the tree has the fan-out of real directories: what a
   * store path of documentation, headers or a Python package looks like.
   */
  static Path smallTree(Path dir, int count, int maxFileSize) throws IOException {
    int copied = 0;
    for (Path root : smallFileRoots()) {
      for (Path source : files(List.of(root), maxFileSize)) {
        if (copied == count) {
          return dir;
        }
        Path target = dir.resolve(root.getFileName() + "/" + root.relativize(source));
        Files.createDirectories(target.getParent());
        try {
          Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
        } catch (IOException e) {
          continue;
        }
        copied++;
      }
    }
    return dir;
  }

  /** Every regular file under {@code dir}, sorted (the order matters only for repeatability). */
  static List<Path> regularFiles(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
          .sorted()
          .forEach(out::add);
    }
    return out;
  }

  static long totalSize(List<Path> files) throws IOException {
    long total = 0;
    for (Path p : files) {
      total += Files.size(p);
    }
    return total;
  }

  static void delete(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
            Files.delete(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
