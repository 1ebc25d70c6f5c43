package dev.oranc.retention.scan;

import dev.oranc.common.oci.Digest;
import java.time.Instant;
import java.util.Objects;

/**
 * One key of the cache as {@code gc} and {@code check} see it: small and fixed in size (no file
 * bytes), so that a repository of tens of thousands of keys is a few megabytes of these.
 *
 * @param manifestDigest what a delete names
 * @param layerDigest the file's blob
 * @param layerSize the file's size: what deleting it frees (once the registry collects garbage)
 * @param created when it was written, or null when undated
 * @param subject what it lives with: the hash part of a narinfo, listing or realisation's path; the
 *     NAR key a debuginfo points into; null for other kinds, or when unreadable
 */
public record CacheKey(
    String key,
    String tag,
    KeyKind kind,
    Digest manifestDigest,
    Digest layerDigest,
    long layerSize,
    Instant created,
    String subject) {

  public CacheKey {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(tag, "tag");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(manifestDigest, "manifestDigest");
    Objects.requireNonNull(layerDigest, "layerDigest");
  }

  public boolean undated() {
    return created == null;
  }
}
