package dev.oranc.bench;

import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import java.util.List;
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
 * Key ↔ tag (SPEC §2), run once per request by the server and once per file by push, for each kind
 * of key in each encoding. {@code writeTag} includes the {@link Tag} validation a write does;
 * {@code readTags} is what a GET resolves with the main encoding and one fallback; {@code decode}
 * is {@code oranc tag decode}'s work. No reference: these are absolute ns/op, to be compared with
 * the microseconds of a request.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class TagCodecBenchmark {

  @Param({"narinfo", "nar", "realisation"})
  public String key;

  @Param({"custom", "base32-dnssec"})
  public String encoding;

  private String keyText;
  private TagCodec codec;
  private TagCodec withFallback;
  private TagEncoding tagEncoding;
  private String tag;

  @Setup(Level.Trial)
  public void setUp() {
    keyText = Samples.key(key);
    tagEncoding = TagEncoding.byName(encoding);
    codec = new TagCodec(tagEncoding, List.of());
    TagEncoding other =
        tagEncoding == TagEncoding.CUSTOM ? TagEncoding.BASE32_DNSSEC : TagEncoding.CUSTOM;
    withFallback = new TagCodec(tagEncoding, List.of(other));
    tag = codec.writeTag(keyText).value();
  }

  @Benchmark
  public Tag writeTag() {
    return codec.writeTag(keyText);
  }

  @Benchmark
  public List<Tag> readTags() {
    return withFallback.readTags(keyText);
  }

  @Benchmark
  public String decode() {
    return tagEncoding.decode(tag);
  }
}
