package dev.oranc.bench;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.oranc.common.nix.nar.NarWriter;
import java.io.IOException;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One store path through push's CPU pipeline (ARCHITECTURE "A push", step 3): NAR writer → SHA-256
 * (NarHash) → zstd level 3 → SHA-256 (FileHash) → a sink that discards, in MB/s of NAR. {@code
 * narZstd} leaves out both hashes, so the difference is what hashing costs. Compare with {@link
 * ZstdBenchmark#oneShot} (zstd alone) and {@link NarHashBenchmark} (NAR and SHA-256 alone): the
 * pipeline cannot beat the slowest stage on one thread.
 *
 * <p>Assembled by hand from {@code common} and zstd-jni; {@link NarCompressorBenchmark} runs push's
 * own class for the same work.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(2)
public class PushPipelineBenchmark {

  @State(Scope.Thread)
  public static class Worker {
    @Param({"0", "2"})
    public int workers;

    final NarWriter writer = new NarWriter();
    final MessageDigest narSha = sha256();
    final MessageDigest fileSha = sha256();

    private static MessageDigest sha256() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new AssertionError(e);
      }
    }
  }

  @Benchmark
  public long pipeline(NarTrees t, Worker w, ByteCounter c) throws IOException {
    ZstdBenchmark.CountingSink sink = new ZstdBenchmark.CountingSink();
    long narSize;
    try (ZstdOutputStreamNoFinalizer z =
        new ZstdOutputStreamNoFinalizer(
            new DigestOutputStream(sink, w.fileSha), RecyclingBufferPool.INSTANCE)) {
      z.setLevel(ZstdBenchmark.LEVEL);
      z.setWorkers(w.workers);
      narSize = w.writer.write(t.root, new DigestOutputStream(z, w.narSha));
    }
    w.narSha.digest();
    w.fileSha.digest();
    c.bytes += narSize;
    return sink.count;
  }

  @Benchmark
  public long narZstd(NarTrees t, Worker w, ByteCounter c) throws IOException {
    ZstdBenchmark.CountingSink sink = new ZstdBenchmark.CountingSink();
    long narSize;
    try (ZstdOutputStreamNoFinalizer z =
        new ZstdOutputStreamNoFinalizer(sink, RecyclingBufferPool.INSTANCE)) {
      z.setLevel(ZstdBenchmark.LEVEL);
      z.setWorkers(w.workers);
      narSize = w.writer.write(t.root, z);
    }
    c.bytes += narSize;
    return sink.count;
  }
}
