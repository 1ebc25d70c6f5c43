package dev.oranc.bench;

import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import dev.oranc.proxy.route.AuthorizationParser;
import dev.oranc.proxy.route.Route;
import dev.oranc.proxy.route.Router;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
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
 * What the server does with every request before any cache or registry: {@link Router#route} (path
 * split and percent-decoded per segment, registry and repository checked, the key's tags made, the
 * {@code Authorization} header decoded), for a narinfo and a NAR key, anonymous, with Basic
 * credentials and with an S3 SigV4 header; and {@link AuthorizationParser#parse} alone.
 *
 * <p>References: splitting the same target on {@code /} ({@code referenceSplitPath}), and base-64
 * decoding the same credentials and splitting at the colon ({@code referenceDecodeBasic}): the
 * least any parser of these values does.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class RouterBenchmark {

  /** The tag encodings: the default, or with a read fallback (more tags to make per GET). */
  @Param({"custom", "custom+base32-dnssec"})
  public String codec;

  @Param({"narinfo", "nar"})
  public String key;

  private Router router;
  private String target;
  private String basic;
  private String aws;
  private String encodedUserPassword;

  @Setup(Level.Trial)
  public void setUp() {
    TagCodec tagCodec =
        codec.equals("custom")
            ? TagCodec.DEFAULT
            : new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.BASE32_DNSSEC));
    router = new Router(2, tagCodec);
    target = "/ghcr.io/owner/cache/" + Samples.key(key);
    encodedUserPassword =
        Base64.getEncoder()
            .encodeToString(
                "user:ghp_0123456789abcdefghijklmnopqrstuvwxyz".getBytes(StandardCharsets.UTF_8));
    basic = "Basic " + encodedUserPassword;
    aws =
        "AWS4-HMAC-SHA256 Credential="
            + encodedUserPassword
            + "/20240101/us-east-1/s3/aws4_request,"
            + " SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
            + " Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  }

  @Benchmark
  public Route routeAnonymous() {
    return router.route("GET", target, null);
  }

  @Benchmark
  public Route routeBasic() {
    return router.route("GET", target, basic);
  }

  @Benchmark
  public Route routeS3() {
    return router.route("GET", target, aws);
  }

  @Benchmark
  public Credentials parseBasic() {
    return AuthorizationParser.parse(basic);
  }

  @Benchmark
  public Credentials parseS3() {
    return AuthorizationParser.parse(aws);
  }

  @Benchmark
  public String[] referenceSplitPath() {
    return target.split("/");
  }

  @Benchmark
  public String[] referenceDecodeBasic() {
    String decoded =
        new String(Base64.getDecoder().decode(encodedUserPassword), StandardCharsets.UTF_8);
    int colon = decoded.indexOf(':');
    return new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)};
  }
}
