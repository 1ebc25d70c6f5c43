package dev.oranc.bench;

import dev.oranc.common.nix.nar.NarWriter;
import java.io.IOException;
import java.io.OutputStream;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The NarHash of a store path: {@link NarWriter} into SHA-256, against the hashing limit, the JDK's
 * {@code MessageDigest} over the same NAR bytes already in memory. Both count the NAR's bytes, so
 * the {@code bytes} rates are MB/s of NAR.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(2)
public class NarHashBenchmark {

  @State(Scope.Thread)
  public static class Hasher {
    final NarWriter writer = new NarWriter();
    final MessageDigest sha256;

    public Hasher() {
      try {
        sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new AssertionError(e);
      }
    }
  }

  @Benchmark
  public byte[] narIntoSha256(NarTrees t, Hasher h, ByteCounter c) throws IOException {
    c.bytes +=
        h.writer.write(t.root, new DigestOutputStream(OutputStream.nullOutputStream(), h.sha256));
    return h.sha256.digest();
  }

  @Benchmark
  public byte[] messageDigestAlone(NarTrees t, Hasher h, ByteCounter c) {
    h.sha256.update(t.nar);
    c.bytes += t.nar.length;
    return h.sha256.digest();
  }
}
