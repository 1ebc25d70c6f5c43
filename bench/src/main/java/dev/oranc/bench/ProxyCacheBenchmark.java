package dev.oranc.bench;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
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
 * The two cache lookups of a warm narinfo GET: key → layer ({@link LayerCache}, scoped by the
 * credentials' fingerprint), then (repository, digest) → bytes ({@link BlobCache}), both hits,
 * through their single-flight futures, as {@code DownloadHandler} makes them. Against two {@code
 * ConcurrentHashMap} lookups of the same keys: the floor of any in-memory cache.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class ProxyCacheBenchmark {

  @Param({"anonymous", "basic"})
  public String credentials;

  private static final Supplier<CompletableFuture<Optional<StoredFile>>> NO_LAYER_LOAD =
      () -> CompletableFuture.failedFuture(new AssertionError("the layer lookup missed"));
  private static final Supplier<CompletableFuture<byte[]>> NO_BLOB_LOAD =
      () -> CompletableFuture.failedFuture(new AssertionError("the blob lookup missed"));

  private LayerCache layers;
  private BlobCache blobs;
  private RepositoryRef repo;
  private Credentials creds;
  private final ConcurrentHashMap<LayerCache.Key, StoredFile> layerMap = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<BlobCache.Key, byte[]> blobMap = new ConcurrentHashMap<>();
  private StoredFile file;

  @Setup(Level.Trial)
  public void setUp() {
    layers =
        new LayerCache(
            100_000, Duration.ofMinutes(5), Duration.ofSeconds(5), Ticker.systemTicker());
    blobs = new BlobCache(64 << 20, 64 << 10, Duration.ofMinutes(10), Ticker.systemTicker());
    repo = RepositoryRef.of("ghcr.io", "owner/cache");
    creds =
        credentials.equals("anonymous")
            ? Credentials.anonymous()
            : Credentials.basic("user", "ghp_0123456789abcdefghijklmnopqrstuvwxyz");
    byte[] narinfo = Samples.narInfo(12).format().getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.sha256(narinfo);
    file =
        new StoredFile(
            repo,
            TagCodec.DEFAULT.writeTag(Samples.NARINFO_KEY),
            digest,
            narinfo.length,
            "text/x-nix-narinfo",
            null);
    layers
        .get(
            repo,
            Samples.NARINFO_KEY,
            creds,
            () -> CompletableFuture.completedFuture(Optional.of(file)))
        .join();
    blobs.get(repo, digest, () -> CompletableFuture.completedFuture(narinfo)).join();
    layerMap.put(
        new LayerCache.Key(
            repo.registry(), repo.repository(), Samples.NARINFO_KEY, creds.fingerprint()),
        file);
    blobMap.put(new BlobCache.Key(repo, digest), narinfo);
  }

  @Benchmark
  public byte[] layerThenBlob() {
    LayerCache.Lookup layer = layers.get(repo, Samples.NARINFO_KEY, creds, NO_LAYER_LOAD).join();
    StoredFile f = layer.file().orElseThrow();
    return blobs.get(repo, f.digest(), NO_BLOB_LOAD).join().bytes();
  }

  @Benchmark
  public byte[] referenceConcurrentHashMaps() {
    StoredFile f =
        layerMap.get(
            new LayerCache.Key(
                repo.registry(), repo.repository(), Samples.NARINFO_KEY, creds.fingerprint()));
    return blobMap.get(new BlobCache.Key(repo, f.digest()));
  }
}
