package dev.oranc.bench;

import dev.oranc.common.nix.narinfo.NarInfo;
import java.nio.charset.StandardCharsets;
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
 * narinfo parse and format with 1, 12 and 200 references (a leaf, a typical library, a large
 * closure root), as push writes them and a reader checks them. {@code referenceSplitLines} splits
 * the same text into lines and fields without interpreting them: the floor of any parser that makes
 * strings of the fields.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class NarInfoBenchmark {

  @Param({"1", "12", "200"})
  public int references;

  private NarInfo narInfo;
  private String text;
  private byte[] utf8;

  @Setup(Level.Trial)
  public void setUp() {
    narInfo = Samples.narInfo(references);
    text = narInfo.format();
    utf8 = text.getBytes(StandardCharsets.UTF_8);
  }

  @Benchmark
  public NarInfo parseString() {
    return NarInfo.parse(text);
  }

  @Benchmark
  public NarInfo parseBytes() {
    return NarInfo.parse(utf8);
  }

  @Benchmark
  public String format() {
    return narInfo.format();
  }

  @Benchmark
  public byte[] formatBytes() {
    return narInfo.formatBytes();
  }

  @Benchmark
  public int referenceSplitLines() {
    int fields = 0;
    for (int pos = 0, eol; pos < text.length(); pos = eol + 1) {
      eol = text.indexOf('\n', pos);
      String line = text.substring(pos, eol);
      int colon = line.indexOf(':');
      fields += line.substring(0, colon).length() + line.substring(colon + 2).length();
    }
    return fields;
  }
}
