package dev.oranc.common.oci;

import java.util.Map;
import java.util.Objects;

/**
 * An OCI content descriptor: what a manifest says about a blob (its config or a layer).
 *
 * @param annotations never null; empty when the manifest has none
 */
public record Descriptor(
    String mediaType, Digest digest, long size, Map<String, String> annotations) {

  public Descriptor {
    Objects.requireNonNull(mediaType, "mediaType");
    Objects.requireNonNull(digest, "digest");
    if (size < 0) {
      throw new IllegalArgumentException("size " + size + " < 0");
    }
    annotations = Map.copyOf(annotations);
  }

  public Descriptor(String mediaType, Digest digest, long size) {
    this(mediaType, digest, size, Map.of());
  }
}
