package dev.oranc.common.nix.hash;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

/** The hash algorithms Nix knows ({@code hashTypes} in Nix's {@code libutil/hash.cc}). */
public enum HashAlgorithm {
  MD5("md5", 16, "MD5"),
  SHA1("sha1", 20, "SHA-1"),
  SHA256("sha256", 32, "SHA-256"),
  SHA512("sha512", 64, "SHA-512");

  private final String nixName;
  private final int size;
  private final String javaName;

  HashAlgorithm(String nixName, int size, String javaName) {
    this.nixName = nixName;
    this.size = size;
    this.javaName = javaName;
  }

  /** The name Nix prints and parses: {@code md5}, {@code sha1}, {@code sha256}, {@code sha512}. */
  public String nixName() {
    return nixName;
  }

  /** Digest size in bytes. */
  public int size() {
    return size;
  }

  /** Length of the bare base-16 form. */
  public int base16Length() {
    return size * 2;
  }

  /** Length of the bare nix32 form: ⌈8n/5⌉. */
  public int nix32Length() {
    return Nix32.encodedLength(size);
  }

  /** Length of the bare, padded base-64 form (Nix's {@code base64Len}). */
  public int base64Length() {
    return (size + 2) / 3 * 4;
  }

  /** A fresh {@link MessageDigest} for this algorithm; every JDK provides all four. */
  public MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance(javaName);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + javaName, e);
    }
  }

  /** The algorithm Nix calls {@code name}, matched exactly as Nix does (lower case only). */
  public static Optional<HashAlgorithm> ofNixName(String name) {
    for (HashAlgorithm a : values()) {
      if (a.nixName.equals(name)) {
        return Optional.of(a);
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return nixName;
  }
}
