package dev.oranc.proxy.http;

import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.upstream.UpstreamChecker;
import java.util.Objects;

/** What the request handlers serve from: the registry, the caches, the upstreams, the counters. */
public record Backend(
    OciBinaryCache registry,
    LayerCache layers,
    BlobCache blobs,
    UpstreamChecker upstream,
    ServerMetrics metrics) {

  public Backend {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(layers, "layers");
    Objects.requireNonNull(blobs, "blobs");
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(metrics, "metrics");
  }
}
