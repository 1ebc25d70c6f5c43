package dev.oranc.common.oci;

import java.util.Objects;

/**
 * A manifest as read, with its digest: the SHA-256 of the bytes the registry sent, which names the
 * manifest for a {@code DELETE} (a tag cannot be deleted on its own by most registries).
 */
public record DigestedManifest(Manifest manifest, Digest digest) {

  public DigestedManifest {
    Objects.requireNonNull(manifest, "manifest");
    Objects.requireNonNull(digest, "digest");
  }
}
