package dev.oranc.common.nix.signature;

import dev.oranc.common.error.FormatException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * A Nix signing key: {@code <name>:<base64 of 64 bytes>}, the 64 bytes being libsodium's secret key
 * layout, a 32-byte Ed25519 seed followed by the 32-byte public key. This is what {@code nix key
 * generate-secret} prints and {@code ORANC_SIGNING_KEY} holds.
 *
 * <p>Signing uses Bouncy Castle's lightweight API; Ed25519 (RFC 8032) is deterministic, so our
 * signature over a fingerprint is byte-for-byte the one Nix's {@code crypto_sign_detached} makes.
 *
 * <p>Not a record: a record would publish the secret bytes through an accessor and print them in
 * {@code toString}. {@link #toString()} names the key only; the secret leaves this object only
 * through {@link #toNixText()}, which says what it does.
 */
public final class SecretKey {

  public static final int SIZE = 64;
  private static final int SEED_SIZE = 32;

  private final String name;
  private final Ed25519PrivateKeyParameters privateKey;
  private final PublicKey publicKey;

  private SecretKey(String name, Ed25519PrivateKeyParameters privateKey) {
    this.name = name;
    this.privateKey = privateKey;
    this.publicKey = new PublicKey(name, privateKey.generatePublicKey().getEncoded());
  }

  /**
   * Parses {@code <name>:<base64>} and checks that the public half matches the seed, as a key whose
   * halves disagree would make signatures that verify under no published key. Surrounding
   * whitespace (a key read from a file or an environment variable) is ignored.
   *
   * @throws FormatException saying what was wrong, without any of the key material
   */
  public static SecretKey parse(String text) {
    Objects.requireNonNull(text, "text");
    String trimmed = text.strip();
    int colon = trimmed.indexOf(':');
    String shown = colon > 0 ? "'" + trimmed.substring(0, colon) + ":<redacted>'" : "<redacted>";
    KeyText.Parsed p = KeyText.parse(trimmed, SIZE, "secret key", shown, true);
    byte[] bytes = p.bytes();
    try {
      SecretKey key = new SecretKey(p.name(), new Ed25519PrivateKeyParameters(bytes, 0));
      byte[] stated = Arrays.copyOfRange(bytes, SEED_SIZE, SIZE);
      boolean matches = MessageDigest.isEqual(stated, key.publicKey.bytes());
      Arrays.fill(stated, (byte) 0);
      if (!matches) {
        throw new FormatException(
            "secret key " + shown,
            "its second half is not the public key of its first half (the seed); the key is"
                + " corrupt");
      }
      return key;
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  /** A fresh key, as {@code nix key generate-secret --key-name NAME} makes one. */
  public static SecretKey generate(String name, SecureRandom random) {
    Objects.requireNonNull(name, "name");
    KeyText.checkName("secret key '" + name + "'", name);
    return new SecretKey(name, new Ed25519PrivateKeyParameters(random));
  }

  public String name() {
    return name;
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /** Signs {@code message} (the whole array). */
  public NixSignature sign(byte[] message) {
    Ed25519Signer signer = new Ed25519Signer();
    signer.init(true, privateKey);
    signer.update(message, 0, message.length);
    return new NixSignature(name, signer.generateSignature());
  }

  /** Signs the fingerprint's UTF-8 bytes, as Nix's {@code ValidPathInfo::sign} does. */
  public NixSignature sign(Fingerprint fingerprint) {
    return sign(fingerprint.text().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The key in Nix's text form, {@code <name>:<base64>}. This reveals the secret: for writing a key
   * file that Nix reads, never for messages or logs.
   */
  public String toNixText() {
    byte[] bytes = new byte[SIZE];
    privateKey.encode(bytes, 0);
    System.arraycopy(publicKey.bytes(), 0, bytes, SEED_SIZE, SEED_SIZE);
    try {
      return name + ':' + Base64.getEncoder().encodeToString(bytes);
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  /** The key name and public key only. */
  @Override
  public String toString() {
    return "SecretKey[name=" + name + ", publicKey=" + publicKey + ", secret=<redacted>]";
  }
}
