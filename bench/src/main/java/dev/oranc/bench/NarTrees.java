package dev.oranc.bench;

import dev.oranc.common.nix.nar.NarWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The two shapes of store path a NAR benchmark reads, written once per trial under {@code
 * java.io.tmpdir} (so in the page cache while measured, like a store path that was just built):
 *
 * <ul>
 *   <li>{@code small-files}: {@value #SMALL_FILE_COUNT} files of at most 32 KiB copied from {@code
 *       /usr/share} and the shared libraries, with their directories;
 *   <li>{@code large-file}: one file of {@code -Doranc.bench.largeFileMiB} (default 64) MiB of
 *       shared-library bytes.
 * </ul>
 *
 * <p>{@link #nar} is the tree's NAR in memory, for the benchmarks whose reference works on the same
 * bytes without reading files.
 */
@State(Scope.Benchmark)
public class NarTrees {

  static final int SMALL_FILE_COUNT = 4000;
  static final int SMALL_FILE_MAX = 32 * 1024;

  @Param({"small-files", "large-file"})
  public String tree;

  Path dir;
  Path root;
  List<Path> files;
  long contentBytes;
  byte[] nar;

  @Setup(Level.Trial)
  public void create() throws IOException {
    dir = Files.createTempDirectory("oranc-bench-nar");
    switch (tree) {
      case "small-files" ->
          root = Corpus.smallTree(dir.resolve("tree"), SMALL_FILE_COUNT, SMALL_FILE_MAX);
      case "large-file" ->
          root =
              Corpus.largeFile(
                  dir.resolve("large"), Long.getLong("oranc.bench.largeFileMiB", 64) << 20);
      default -> throw new IllegalArgumentException("tree: " + tree);
    }
    files = Files.isDirectory(root) ? Corpus.regularFiles(root) : List.of(root);
    contentBytes = Corpus.totalSize(files);
    ByteArrayOutputStream out = new ByteArrayOutputStream((int) (contentBytes + (1 << 20)));
    new NarWriter().write(root, out);
    nar = out.toByteArray();
  }

  @TearDown(Level.Trial)
  public void delete() throws IOException {
    Corpus.delete(dir);
  }
}
