package dev.oranc.push.narinfo;

import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.Fingerprint;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.signature.Signatures;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.Digest;
import dev.oranc.push.db.PathInfo;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The narinfo a push publishes for a path (SPEC §4): the database's NarHash, NarSize, References,
 * Deriver and CA, the compressed file's hash and size, and the path's signatures with ours merged
 * in. Also the cache keys both files go under.
 */
public final class NarInfoMaker {

  public static final String COMPRESSION = "zstd";
  public static final String NAR_CONTENT_TYPE = "application/x-nix-nar";

  private final SecretKey key;

  public NarInfoMaker(SecretKey key) {
    this.key = key;
  }

  public String keyName() {
    return key.name();
  }

  /** {@code nar/<nar hash in nix32>.nar.zst}, the key (and the narinfo's URL) of a NAR. */
  public static String narKey(NixHash narHash) {
    return "nar/" + narHash.bareNix32() + ".nar.zst";
  }

  /** {@code <hash part>.narinfo}. */
  public static String narInfoKey(StorePath path) {
    return path.hashPart() + ".narinfo";
  }

  /**
   * The signatures the narinfo will carry: the database's with ours merged in. Done before anything
   * is uploaded, so that a conflict costs nothing.
   *
   * @throws IntegrityException when the path has a signature by our key name that is not ours
   * @throws IllegalArgumentException when the database does not know the NAR's size
   */
  public List<NixSignature> signatures(PathInfo info) {
    if (info.narSize() <= 0) {
      throw new IllegalArgumentException(
          info.path() + ": the Nix database does not know its NAR size, so it cannot be signed");
    }
    Fingerprint fingerprint = info.fingerprint();
    return Signatures.merge(fingerprint, info.sigs(), key);
  }

  /**
   * The narinfo for a path whose NAR is stored as the blob {@code file} of {@code fileSize} bytes.
   */
  public NarInfo narInfo(PathInfo info, List<NixSignature> sigs, Digest file, long fileSize) {
    return new NarInfo(
        info.path(),
        narKey(info.narHash()),
        COMPRESSION,
        Optional.of(NixHash.sha256(file.bytes())),
        OptionalLong.of(fileSize),
        info.narHash(),
        info.narSize(),
        info.references(),
        info.deriver(),
        sigs,
        info.ca(),
        List.of());
  }

  /**
   * Whether a narinfo found in the registry describes {@code info} as the database does and carries
   * a signature by our key over exactly that: then there is nothing to push.
   */
  /**
   * Whether one of {@code sigs} is our key's signature over the local path's fingerprint: then
   * whatever carries them describes exactly this path (store path, NAR hash and size, references),
   * as we signed it.
   */
  public boolean signedByUs(List<NixSignature> sigs, PathInfo info) {
    Fingerprint local = info.fingerprint();
    for (NixSignature sig : sigs) {
      if (sig.keyName().equals(key.name()) && key.publicKey().verify(local, sig)) {
        return true;
      }
    }
    return false;
  }

  public boolean isOurs(NarInfo remote, PathInfo info) {
    if (!remote.storePath().equals(info.path())) {
      return false;
    }
    Fingerprint local = info.fingerprint();
    if (!remote.fingerprint().equals(local)) {
      return false;
    }
    for (NixSignature sig : remote.sigs()) {
      if (key.publicKey().verify(local, sig)) {
        return true;
      }
    }
    return false;
  }
}
