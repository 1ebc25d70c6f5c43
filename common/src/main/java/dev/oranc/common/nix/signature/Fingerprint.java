package dev.oranc.common.nix.signature;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.store.StorePath;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What a Nix binary-cache signature signs: {@code 1;<store path>;<nar hash>;<nar size>;<refs>}, the
 * NAR hash as {@code sha256:<nix32>}, the references as full store paths, sorted and
 * comma-separated (Nix's {@code ValidPathInfo::fingerprint}). A path without references ends with
 * {@code ;}.
 *
 * @param storePath the signed path
 * @param narHash the hash of its NAR (sha256 in every Nix; other types are printed as Nix would)
 * @param narSize the NAR's size, positive: Nix refuses to fingerprint a path of unknown size
 * @param references the paths it refers to, in the same store; kept sorted and without repeats
 */
public record Fingerprint(
    StorePath storePath, NixHash narHash, long narSize, List<StorePath> references) {

  public Fingerprint {
    Objects.requireNonNull(storePath, "storePath");
    Objects.requireNonNull(narHash, "narHash");
    Objects.requireNonNull(references, "references");
    if (narSize <= 0) {
      throw new IllegalArgumentException(
          "cannot fingerprint " + storePath + ": NAR size " + narSize + " is not positive");
    }
    TreeSet<StorePath> sorted = new TreeSet<>(references);
    for (StorePath r : sorted) {
      if (!r.storeDir().equals(storePath.storeDir())) {
        throw new IllegalArgumentException(
            "reference " + r + " of " + storePath + " is in another store");
      }
    }
    references = List.copyOf(sorted);
  }

  public static Fingerprint of(
      StorePath storePath, NixHash narHash, long narSize, List<StorePath> references) {
    return new Fingerprint(storePath, narHash, narSize, references);
  }

  /** The text that is signed. */
  public String text() {
    StringBuilder sb = new StringBuilder(128 + 64 * references.size());
    sb.append("1;")
        .append(storePath)
        .append(';')
        .append(narHash.toNix32())
        .append(';')
        .append(narSize)
        .append(';');
    for (int i = 0; i < references.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(references.get(i));
    }
    return sb.toString();
  }

  /** The UTF-8 bytes of {@link #text()}, what Ed25519 signs. */
  public byte[] bytes() {
    return text().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return text();
  }
}
