package dev.oranc.bench;

import com.github.luben.zstd.BufferPool;
import com.github.luben.zstd.NoPool;
import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * zstd at push's default level 3 on {@code inputMiB} MiB of shared-library bytes (compressible like
 * real store paths, ratio about 0.3), in MB/s of input.
 *
 * <p>The streaming path push uses (a {@code ZstdOutputStream} fed in NAR-writer-sized chunks)
 * against zstd-jni's one-shot compression of the same bytes held in memory, the limit. {@code
 * workers} is zstd's own multithreading ({@code ZSTD_c_nbWorkers}): 0 compresses on the calling
 * thread, 2 uses both cores of the reference machine. At 0 the reference is exactly {@code
 * Zstd.compress(src, 3)}; at 2 it is the same call on a context with two workers.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(2)
public class ZstdBenchmark {

  static final int LEVEL = 3;

  /** The chunk size a {@code NarWriter} hands on. */
  static final int CHUNK = 128 * 1024;

  @State(Scope.Benchmark)
  public static class Input {
    @Param({"32"})
    public int inputMiB;

    @Param({"0", "2"})
    public int workers;

    byte[] bytes;

    @Setup(Level.Trial)
    public void load() {
      bytes = Corpus.bytes(inputMiB << 20);
    }
  }

  @State(Scope.Thread)
  public static class Context {
    ZstdCompressCtx ctx;

    @Setup(Level.Trial)
    public void open(Input in) {
      ctx = new ZstdCompressCtx().setLevel(LEVEL).setWorkers(in.workers);
    }

    @TearDown(Level.Trial)
    public void close() {
      ctx.close();
    }
  }

  @Benchmark
  public byte[] oneShot(Input in, Context c, ByteCounter counter) {
    counter.bytes += in.bytes.length;
    return in.workers == 0 ? Zstd.compress(in.bytes, LEVEL) : c.ctx.compress(in.bytes);
  }

  /** A fresh stream per input, its buffers from zstd-jni's recycling pool (shared, per thread). */
  @Benchmark
  public long outputStream(Input in, ByteCounter counter) throws IOException {
    return stream(in, RecyclingBufferPool.INSTANCE, counter);
  }

  /** As {@link #outputStream}, allocating the stream's buffers each time. */
  @Benchmark
  public long outputStreamNoPool(Input in, ByteCounter counter) throws IOException {
    return stream(in, NoPool.INSTANCE, counter);
  }

  private static long stream(Input in, BufferPool pool, ByteCounter counter) throws IOException {
    CountingSink sink = new CountingSink();
    try (ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(sink, pool)) {
      z.setLevel(LEVEL);
      z.setWorkers(in.workers);
      for (int off = 0; off < in.bytes.length; off += CHUNK) {
        z.write(in.bytes, off, Math.min(CHUNK, in.bytes.length - off));
      }
    }
    counter.bytes += in.bytes.length;
    return sink.count;
  }

  /** Discards what it is given and counts it. */
  static final class CountingSink extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
