package dev.oranc.push.upload;

import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.narinfo.NarInfoMaker;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A path's NAR into the registry: the streamed blob ({@link #openNar}), its image's config, and the
 * tag {@code nar/<NarHash>.nar.zst} ({@link #publishNar}).
 *
 * <p>Design note. The config names only the NAR's digest, so it goes up as soon as the last byte is
 * handed over ({@link BlobOutputStream#described()}), beside the NAR's last request, and waits
 * here, by digest, for the tag; the tag then waits on whichever of the two ends last. A config
 * whose upload failed is sent again with the tag. No dry run here: {@link RegistryTarget} keeps
 * this class out of one.
 */
final class NarPublisher {

  private final OciBinaryCache cache;
  private final RepositoryRef repository;
  private final Credentials credentials;

  /**
   * Configs of NAR images on their way, by the NAR's digest: started as soon as the NAR's digest is
   * known (its last byte handed over), while the NAR's blob completes; taken by publishNar.
   */
  private final Map<Digest, CompletableFuture<Descriptor>> narConfigs = new ConcurrentHashMap<>();

  NarPublisher(OciBinaryCache cache, RepositoryRef repository, Credentials credentials) {
    this.cache = cache;
    this.repository = repository;
    this.credentials = credentials;
  }

  NarSink openNar() {
    return new BlobSink(new BlobOutputStream(cache.upload(repository, -1, credentials, null)));
  }

  CompletableFuture<Void> publishNar(PathInfo info, Descriptor blob) {
    CompletableFuture<Descriptor> config = narConfigs.remove(blob.digest());
    if (config == null || config.isCompletedExceptionally()) {
      config = cache.putConfig(repository, blob.digest(), credentials, null);
    }
    return cache
        .publish(
            repository,
            NarInfoMaker.narKey(info.narHash()),
            blob,
            NarInfoMaker.NAR_CONTENT_TYPE,
            null,
            Map.of(),
            config,
            credentials,
            null)
        .thenApply(tag -> null);
  }

  /** A NAR's blob upload, whose end starts its image's config. */
  private final class BlobSink implements NarSink {
    private final BlobOutputStream stream;

    BlobSink(BlobOutputStream stream) {
      this.stream = stream;
    }

    @Override
    public OutputStream stream() {
      return stream;
    }

    @Override
    public CompletableFuture<Descriptor> finish() throws IOException {
      CompletableFuture<Descriptor> stored = stream.finish();
      // The config names only the NAR's digest: it goes up beside the NAR's last request.
      stream
          .described()
          .thenAccept(
              d ->
                  narConfigs.computeIfAbsent(
                      d.digest(),
                      digest -> cache.putConfig(repository, digest, credentials, null)));
      return stored;
    }

    @Override
    public CompletableFuture<Descriptor> described() {
      return stream.described();
    }

    @Override
    public void whileBlocked(Runnable before, Runnable after) {
      stream.whileBlocked(before, after);
    }

    @Override
    public void abort(Throwable cause) {
      stream.abort(cause);
    }

    @Override
    public void close() {
      stream.close();
    }
  }
}
