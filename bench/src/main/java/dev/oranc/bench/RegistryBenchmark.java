package dev.oranc.bench;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import java.io.IOException;
import java.util.Map;
import java.util.Random;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-request value work of the registry client: reading a cache file's manifest (what every
 * cold GET does) against jackson-jr's parse of the same JSON alone; making the repository name and
 * credentials a request carries; a digest from the registry's text.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class RegistryBenchmark {

  private RepositoryRef repository;
  private Tag tag;
  private byte[] manifestJson;
  private String digestText;

  @Setup(Level.Trial)
  public void setUp() {
    Random random = new Random(42);
    repository = RepositoryRef.of("ghcr.io", "owner/cache");
    tag = TagCodec.DEFAULT.writeTag(Samples.NARINFO_KEY);
    Digest layer = Digest.of(Samples.bytes(random, 32));
    byte[] config = ImageLayout.configJson(layer);
    Manifest manifest =
        ImageLayout.manifest(
            Samples.NARINFO_KEY,
            ImageLayout.layer(layer, 1043, "text/x-nix-narinfo", null),
            new Descriptor(ImageLayout.CONFIG_MEDIA_TYPE, Digest.sha256(config), config.length));
    manifestJson = manifest.toJson();
    digestText = layer.toString();
  }

  @Benchmark
  public StoredFile readManifest() {
    Manifest m = Manifest.parse(manifestJson, "manifest", Manifest.OCI_MANIFEST);
    return ImageLayout.read(repository, tag, m);
  }

  @Benchmark
  public Map<String, Object> referenceJacksonJrParse() throws IOException {
    return JSON.std.mapFrom(manifestJson);
  }

  @Benchmark
  public RepositoryRef repositoryRef() {
    return RepositoryRef.of("127.0.0.1:5000", "owner/cache");
  }

  @Benchmark
  public Credentials basicCredentials() {
    return Credentials.basic("user", "ghp_0123456789abcdefghijklmnopqrstuvwxyz");
  }

  @Benchmark
  public Digest parseDigest() {
    return Digest.parse(digestText);
  }
}
