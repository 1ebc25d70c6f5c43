package dev.oranc.common.nix.signature;

import dev.oranc.common.error.FormatException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * A Nix public key, {@code <name>:<base64 of 32 bytes>}, as {@code nix key
 * convert-secret-to-public} prints and {@code trusted-public-keys} lists.
 *
 * <p>Unlike Nix, parsing also checks that the 32 bytes are an Ed25519 point, so that a corrupt key
 * is reported where it is read rather than as signatures that never verify.
 *
 * @param name the key name, e.g. {@code cache.nixos.org-1}
 * @param bytes the 32-byte Ed25519 public key (copied in and out)
 */
public record PublicKey(String name, byte[] bytes) {

  public static final int SIZE = 32;

  public PublicKey {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(bytes, "bytes");
    KeyText.checkName("public key '" + name + "'", name);
    if (bytes.length != SIZE) {
      throw new IllegalArgumentException("an Ed25519 public key has 32 bytes, not " + bytes.length);
    }
    bytes = bytes.clone();
    parameters(name, bytes);
  }

  /**
   * Parses {@code <name>:<base64>}; surrounding whitespace (a key read from a file) is ignored.
   *
   * @throws FormatException naming the input and what was wrong
   */
  public static PublicKey parse(String text) {
    Objects.requireNonNull(text, "text");
    String trimmed = text.strip();
    KeyText.Parsed p = KeyText.parse(trimmed, SIZE, "public key", KeyText.quote(trimmed), false);
    return new PublicKey(p.name(), p.bytes());
  }

  private static Ed25519PublicKeyParameters parameters(String name, byte[] bytes) {
    try {
      return new Ed25519PublicKeyParameters(bytes, 0);
    } catch (IllegalArgumentException e) {
      throw new FormatException(
          "public key '" + name + "'", "the 32 bytes are not an Ed25519 public key");
    }
  }

  /**
   * Whether {@code signature} was made by this key over {@code message}: its key name must be this
   * key's name (as Nix looks keys up by name) and the Ed25519 signature must verify.
   */
  public boolean verify(byte[] message, NixSignature signature) {
    if (!signature.keyName().equals(name)) {
      return false;
    }
    Ed25519Signer verifier = new Ed25519Signer();
    verifier.init(false, parameters(name, bytes));
    verifier.update(message, 0, message.length);
    return verifier.verifySignature(signature.rawBytes());
  }

  /** {@link #verify(byte[], NixSignature)} over the fingerprint's UTF-8 bytes. */
  public boolean verify(Fingerprint fingerprint, NixSignature signature) {
    return verify(fingerprint.text().getBytes(StandardCharsets.UTF_8), signature);
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PublicKey k && k.name.equals(name) && Arrays.equals(k.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return 31 * name.hashCode() + Arrays.hashCode(bytes);
  }

  /** {@code <name>:<base64>}, the form Nix prints and reads. Public keys are not secret. */
  @Override
  public String toString() {
    return name + ':' + Base64.getEncoder().encodeToString(bytes);
  }
}
