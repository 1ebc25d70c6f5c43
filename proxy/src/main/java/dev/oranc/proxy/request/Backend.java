package dev.oranc.proxy.request;

import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.cache.PendingPublishes;
import dev.oranc.proxy.cache.Prefetcher;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.upstream.UpstreamChecker;
import java.util.Objects;

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
}
