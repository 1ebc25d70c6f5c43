package dev.oranc.push.db;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.signature.Fingerprint;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.store.StorePath;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * One row of the Nix database's {@code ValidPaths} with its {@code Refs}: what the store says about
 * a path, and what its narinfo must repeat.
 *
 * @param narHash the NAR's hash ({@code ValidPaths.hash}, {@code sha256:<base16>} in the database)
 * @param narSize the NAR's size in bytes; 0 when the database does not know it (very old paths)
 * @param references the paths it refers to, itself included if it does; sorted, no repeats
 * @param sigs its signatures, in the database's order
 * @param ca its content address as the database writes it
 */
public record PathInfo(
    StorePath path,
    NixHash narHash,
    long narSize,
    List<StorePath> references,
    Optional<StorePath> deriver,
    List<NixSignature> sigs,
    Optional<String> ca) {

  public PathInfo {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(narHash, "narHash");
    references = List.copyOf(new TreeSet<>(references));
    Objects.requireNonNull(deriver, "deriver");
    sigs = List.copyOf(sigs);
    Objects.requireNonNull(ca, "ca");
  }

  /** What a signature over this path signs, from the database's values. */
  public Fingerprint fingerprint() {
    return new Fingerprint(path, narHash, narSize, references);
  }
}
