package dev.oranc.bench;

import dev.oranc.common.nix.nar.NarWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link NarWriter} against the I/O limit: reading the same files' bytes without making a NAR.
 *
 * <p>Every method counts the files' content bytes in {@link ByteCounter#bytes}, so the {@code
 * bytes} rates compare directly (MB/s of file content). References:
 *
 * <ul>
 *   <li>{@code filesCopy}: {@code Files.copy(path, nullOutputStream)} per file, the plain Java way;
 *   <li>{@code channelRead}: {@code FileChannel.read} into one reused 128 KiB heap buffer, the
 *       system calls the writer itself makes, without the NAR framing and directory listing;
 *   <li>{@code transferToDevNull}: {@code FileChannel.transferTo} into {@code /dev/null}, where the
 *       kernel may not copy at all: a floor no user-space reader reaches.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(2)
public class NarWriterBenchmark {

  /** Per-thread sinks and buffers, as a push worker thread would hold them. */
  @State(Scope.Thread)
  public static class Sinks {
    final NarWriter writer = new NarWriter();
    final ByteBuffer buffer = ByteBuffer.allocate(NarWriter.DEFAULT_BUFFER_SIZE);
    FileChannel devNull;

    @Setup(Level.Trial)
    public void open() throws IOException {
      devNull = FileChannel.open(Path.of("/dev/null"), StandardOpenOption.WRITE);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      devNull.close();
    }
  }

  @Benchmark
  public long nar(NarTrees t, Sinks s, ByteCounter c) throws IOException {
    long n = s.writer.write(t.root, OutputStream.nullOutputStream());
    c.bytes += t.contentBytes;
    return n;
  }

  @Benchmark
  public long filesCopy(NarTrees t, ByteCounter c) throws IOException {
    long n = 0;
    OutputStream sink = OutputStream.nullOutputStream();
    for (Path p : t.files) {
      n += Files.copy(p, sink);
    }
    c.bytes += n;
    return n;
  }

  @Benchmark
  public long channelRead(NarTrees t, Sinks s, ByteCounter c) throws IOException {
    long n = 0;
    for (Path p : t.files) {
      try (FileChannel channel = FileChannel.open(p, StandardOpenOption.READ)) {
        for (int r; (r = channel.read(s.buffer.clear())) >= 0; ) {
          n += r;
        }
      }
    }
    c.bytes += n;
    return n;
  }

  @Benchmark
  public long transferToDevNull(NarTrees t, Sinks s, ByteCounter c) throws IOException {
    long n = 0;
    for (Path p : t.files) {
      try (FileChannel channel = FileChannel.open(p, StandardOpenOption.READ)) {
        long size = channel.size();
        for (long pos = 0; pos < size; ) {
          pos += channel.transferTo(pos, size - pos, s.devNull);
        }
        n += size;
      }
    }
    c.bytes += n;
    return n;
  }
}
