package dev.oranc.common.nix.signature;

import dev.oranc.common.error.FormatException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * A detached Ed25519 signature as Nix writes it after {@code Sig:} in a narinfo and in the store
 * database's {@code ValidPaths.sigs}: {@code <key name>:<base64 of 64 bytes>}.
 *
 * @param keyName the name of the key that made it, e.g. {@code cache.nixos.org-1}
 * @param bytes the 64 signature bytes (copied in and out)
 */
public record NixSignature(String keyName, byte[] bytes) {

  public static final int SIZE = 64;

  public NixSignature {
    Objects.requireNonNull(keyName, "keyName");
    Objects.requireNonNull(bytes, "bytes");
    KeyText.checkName("signature by '" + keyName + "'", keyName);
    if (bytes.length != SIZE) {
      throw new IllegalArgumentException("an Ed25519 signature has 64 bytes, not " + bytes.length);
    }
    bytes = bytes.clone();
  }

  /**
   * Parses {@code <key name>:<base64>}.
   *
   * @throws FormatException naming the input and what was wrong
   */
  public static NixSignature parse(String text) {
    Objects.requireNonNull(text, "text");
    KeyText.Parsed p = KeyText.parse(text, SIZE, "signature", KeyText.quote(text), false);
    return new NixSignature(p.name(), p.bytes());
  }

  /**
   * Parses a space-separated list, as the store database's {@code ValidPaths.sigs} holds it; runs
   * of spaces and an empty or null text are fine (Nix tokenizes the same way).
   */
  public static List<NixSignature> parseList(String spaceSeparated) {
    List<NixSignature> sigs = new ArrayList<>();
    if (spaceSeparated == null) {
      return sigs;
    }
    for (String token : spaceSeparated.split(" ")) {
      if (!token.isEmpty()) {
        sigs.add(parse(token));
      }
    }
    return sigs;
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  /** Whether the signature bytes equal {@code other}'s, without copying. */
  boolean sameBytes(NixSignature other) {
    return Arrays.equals(bytes, other.bytes);
  }

  /** Package-private view for verification, never handed out. */
  byte[] rawBytes() {
    return bytes;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NixSignature s
        && s.keyName.equals(keyName)
        && Arrays.equals(s.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return 31 * keyName.hashCode() + Arrays.hashCode(bytes);
  }

  /** {@code <key name>:<base64>}, as Nix writes it. */
  @Override
  public String toString() {
    return keyName + ':' + Base64.getEncoder().encodeToString(bytes);
  }
}
