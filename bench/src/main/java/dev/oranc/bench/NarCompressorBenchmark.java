package dev.oranc.bench;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.nar.NarWriter;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.Digest;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.upload.CompressedNar;
import dev.oranc.push.upload.NarCompressor;
import java.io.IOException;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.Random;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Push's own per-path CPU work, {@link NarCompressor#compress}: NAR writer → SHA-256 and size
 * (checked against the database's values) → zstd level 3 → a sink that hashes what it is given (the
 * upload's FileHash) and discards it; in MB/s of NAR, for the two trees of {@link NarTrees}. {@code
 * workers} 2 makes the compressor use zstd's two worker threads for every NAR (push does for NARs
 * over its large-NAR bound). Compare with {@link PushPipelineBenchmark#pipeline} (the same stages
 * assembled by hand) and {@link ZstdBenchmark#oneShot} (zstd alone).
 *
 * <p>{@code compressInMemory} feeds the compressor the tree's NAR from memory in 128 KiB writes, as
 * the NAR writer hands it on: push's streaming zstd and hashing without the file reads, to set
 * against zstd-jni's one-shot compression of bytes in memory.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(2)
public class NarCompressorBenchmark {

  @State(Scope.Thread)
  public static class Compressor {
    @Param({"0", "2"})
    public int workers;

    final NarWriter writer = new NarWriter();
    final MessageDigest fileSha = Digest.newSha256();
    NarCompressor compressor;
    NarCompressor inMemory;
    PathInfo info;

    @Setup(Level.Trial)
    public void setUp(NarTrees t) {
      // The tree is not in the store: the source writes the tree whatever path it is asked for.
      compressor =
          new NarCompressor(
              (path, out) -> writer.write(t.root, out), ZstdBenchmark.LEVEL, workers, 0);
      inMemory =
          new NarCompressor(
              (path, out) -> {
                for (int off = 0; off < t.nar.length; off += ZstdBenchmark.CHUNK) {
                  out.write(t.nar, off, Math.min(ZstdBenchmark.CHUNK, t.nar.length - off));
                }
                return t.nar.length;
              },
              ZstdBenchmark.LEVEL,
              workers,
              0);
      StorePath path = Samples.storePath(new Random(42), "bench-tree");
      info =
          new PathInfo(
              path,
              NixHash.sha256(Digest.newSha256().digest(t.nar)),
              t.nar.length,
              List.of(),
              Optional.empty(),
              List.of(),
              Optional.empty());
    }
  }

  @Benchmark
  public CompressedNar compress(NarTrees t, Compressor c, ByteCounter counter) throws IOException {
    ZstdBenchmark.CountingSink sink = new ZstdBenchmark.CountingSink();
    CompressedNar result =
        c.compressor.compress(c.info, new DigestOutputStream(sink, c.fileSha), n -> {}, n -> {});
    c.fileSha.digest();
    counter.bytes += result.narSize();
    return result;
  }

  @Benchmark
  public CompressedNar compressInMemory(NarTrees t, Compressor c, ByteCounter counter)
      throws IOException {
    ZstdBenchmark.CountingSink sink = new ZstdBenchmark.CountingSink();
    CompressedNar result =
        c.inMemory.compress(c.info, new DigestOutputStream(sink, c.fileSha), n -> {}, n -> {});
    c.fileSha.digest();
    counter.bytes += result.narSize();
    return result;
  }
}
