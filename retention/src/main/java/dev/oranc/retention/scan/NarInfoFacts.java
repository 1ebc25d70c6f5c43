package dev.oranc.retention.scan;

import dev.oranc.common.oci.Digest;
import java.util.List;
import java.util.Objects;

/**
 * What {@code gc} and {@code check} need of a narinfo: the references (hash parts, itself left
 * out), the NAR it names, and what it says of that NAR's file.
 *
 * @param narKey the key of its NAR: its {@code URL}, relative to the cache
 * @param fileDigest its {@code FileHash} when that is a SHA-256 (comparable with the layer's
 *     digest), else null
 * @param fileSize its {@code FileSize}, or -1
 * @param signatureProblem when trusted keys were given and none verifies its signatures: why; else
 *     null
 */
public record NarInfoFacts(
    String hashPart,
    String narKey,
    Digest fileDigest,
    long fileSize,
    List<String> references,
    String signatureProblem) {

  public NarInfoFacts {
    Objects.requireNonNull(hashPart, "hashPart");
    Objects.requireNonNull(narKey, "narKey");
    references = List.copyOf(references);
  }
}
