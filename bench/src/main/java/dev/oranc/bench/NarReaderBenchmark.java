package dev.oranc.bench;

import dev.oranc.common.nix.nar.NarReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link NarReader#validate} of an in-memory NAR against reading the same stream in 64 KiB chunks
 * (the reader's buffer size) and doing nothing with it: the cost of parsing and checking the
 * framing, in MB/s of NAR.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(2)
public class NarReaderBenchmark {

  @State(Scope.Thread)
  public static class Buffer {
    final byte[] bytes = new byte[64 * 1024];
  }

  @Benchmark
  public long validate(NarTrees t, ByteCounter c) throws IOException {
    long n = NarReader.validate(new ByteArrayInputStream(t.nar));
    c.bytes += n;
    return n;
  }

  @Benchmark
  public long readInChunks(NarTrees t, Buffer b, ByteCounter c) throws IOException {
    long n = 0;
    InputStream in = new ByteArrayInputStream(t.nar);
    for (int r; (r = in.read(b.bytes)) >= 0; ) {
      n += r;
    }
    c.bytes += n;
    return n;
  }
}
