package dev.oranc.common.nix.signature;

import dev.oranc.common.error.IntegrityException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What {@code oranc push} does with a path's existing signatures (SPEC §4 steps 3 and 5).
 *
 * <p>Merging is strict where a silent choice would hide a problem: an existing signature under our
 * key name that is not exactly ours means either another key uses our name, or the path's NAR hash,
 * size or references changed since it was signed. Publishing both would leave a narinfo whose
 * signatures disagree; dropping the old one would hide the conflict. So it is an error for that
 * path.
 */
public final class Signatures {

  private Signatures() {}

  /**
   * {@code existing} with our signature over {@code fingerprint} merged in: unchanged if it is
   * already there, else with ours appended. Order is otherwise kept.
   *
   * @throws IntegrityException if {@code existing} has a signature by our key name that does not
   *     verify with our public key, or verifies but differs from ours
   */
  public static List<NixSignature> merge(
      Fingerprint fingerprint, List<NixSignature> existing, SecretKey key) {
    return merge(fingerprint, existing, key.sign(fingerprint), key.publicKey());
  }

  /**
   * As {@link #merge(Fingerprint, List, SecretKey)}, with our signature {@code ours} already made
   * by the key whose public half is {@code ourKey}.
   */
  public static List<NixSignature> merge(
      Fingerprint fingerprint, List<NixSignature> existing, NixSignature ours, PublicKey ourKey) {
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(existing, "existing");
    if (!ours.keyName().equals(ourKey.name())) {
      throw new IllegalArgumentException(
          "signature by '" + ours.keyName() + "' is not by key '" + ourKey.name() + "'");
    }
    boolean present = false;
    for (NixSignature sig : existing) {
      if (!sig.keyName().equals(ours.keyName())) {
        continue;
      }
      if (!ourKey.verify(fingerprint, sig)) {
        throw new IntegrityException(
            fingerprint.storePath()
                + ": it already has a signature by key '"
                + sig.keyName()
                + "' that does not verify with our public key "
                + ourKey
                + ": another key has the same name, or the path's NAR hash, size or references"
                + " differ from what was signed (fingerprint '"
                + fingerprint
                + "')");
      }
      if (!sig.sameBytes(ours)) {
        throw new IntegrityException(
            fingerprint.storePath()
                + ": its existing signature by key '"
                + sig.keyName()
                + "' verifies but differs from ours ("
                + sig
                + " vs "
                + ours
                + "); Ed25519 is"
                + " deterministic, so it was not made by a standard signer");
      }
      present = true;
    }
    if (present) {
      return List.copyOf(existing);
    }
    List<NixSignature> merged = new ArrayList<>(existing.size() + 1);
    merged.addAll(existing);
    merged.add(ours);
    return List.copyOf(merged);
  }

  /** Whether one of {@code signatures} is by key name {@code keyName} (exact match). */
  public static boolean hasKeyName(Collection<NixSignature> signatures, String keyName) {
    Objects.requireNonNull(keyName, "keyName");
    for (NixSignature sig : signatures) {
      if (sig.keyName().equals(keyName)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a key name of {@code signatures} matches {@code pattern} anywhere in it ({@link
   * java.util.regex.Matcher#find()}, as Rust's {@code Regex::is_match} that oranc's {@code
   * --excluded-signing-key-pattern} used; anchor the pattern to match whole names).
   */
  public static boolean anyKeyNameMatches(Collection<NixSignature> signatures, Pattern pattern) {
    Objects.requireNonNull(pattern, "pattern");
    for (NixSignature sig : signatures) {
      if (pattern.matcher(sig.keyName()).find()) {
        return true;
      }
    }
    return false;
  }
}
