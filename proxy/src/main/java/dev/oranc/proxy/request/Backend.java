package dev.oranc.proxy.request;

import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.Tag;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.cache.PendingPublishes;
import dev.oranc.proxy.cache.Prefetcher;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.upstream.UpstreamChecker;
import io.netty.channel.EventLoop;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * What the request handlers of both faces serve from: the registry, the caches, the upstreams, the
 * counters, the prefetcher that warms the caches, and the NAR publishes answered but not finished.
 * The S3 multipart uploads in progress are the S3 face's alone: {@code ServerInitializer} hands
 * them to {@code s3.MultipartHandler} beside this.
 */
public record Backend(
    OciBinaryCache registry,
    LayerCache layers,
    BlobCache blobs,
    UpstreamChecker upstream,
    ServerMetrics metrics,
    Prefetcher prefetch,
    PendingPublishes pending) {

  public Backend {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(layers, "layers");
    Objects.requireNonNull(blobs, "blobs");
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(metrics, "metrics");
    Objects.requireNonNull(prefetch, "prefetch");
    Objects.requireNonNull(pending, "pending");
  }

  /**
   * Publishes a stored blob as the file {@code key} (its config, unless {@code config} is under way
   * already, and its tagged manifest), timed in the metrics as {@code publish}, and drops the key's
   * cached look-ups once the file is up, before anything waiting on the returned future runs: a GET
   * that follows the answer sees the new file. What both faces' PUTs do.
   *
   * @param config the image's config on its way ({@code OciBinaryCache.putConfig}), or null
   */
  public CompletableFuture<Tag> publish(
      RepositoryRef repo,
      String key,
      Descriptor blob,
      String contentType,
      String contentEncoding,
      CompletableFuture<Descriptor> config,
      Credentials credentials,
      EventLoop loop) {
    CompletableFuture<Tag> published =
        config == null
            ? registry.publish(repo, key, blob, contentType, contentEncoding, credentials, loop)
            : registry.publish(
                repo, key, blob, contentType, contentEncoding, Map.of(), config, credentials, loop);
    return Failures.timed(metrics, "publish", published)
        .thenApply(
            tag -> {
              layers.invalidate(repo, key);
              return tag;
            });
  }
}
