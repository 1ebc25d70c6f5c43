package dev.oranc.common.nix.hash;

import dev.oranc.common.error.FormatException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * A typed hash as Nix writes it in narinfos, the store database and on the command line.
 *
 * <p>Parsing follows {@code Hash::parseAnyPrefixed} and {@code Hash::Hash(rest, type, isSRI)} of
 * Nix 2.8 ({@code libutil/hash.cc}): the type comes first, separated by {@code :} (then the
 * encoding is chosen by length: base-16, nix32 or padded base-64) or by {@code -} (SRI: base-64).
 * As in Nix, the first {@code :} wins over a {@code -}, base-16 accepts upper case, and nix32
 * rejects non-zero excess bits.
 *
 * <p>Where Nix's decoders are looser than needed, this one is stricter and says so: base-64 text
 * must be valid RFC 4648 (Nix skips newlines and ignores everything after a {@code =}). Nix never
 * writes such hashes, so no hash Nix writes is refused.
 *
 * @param algorithm which hash
 * @param bytes the digest, exactly {@code algorithm.size()} bytes (copied in and out)
 */
public record NixHash(HashAlgorithm algorithm, byte[] bytes) {

  private static final HexFormat HEX = HexFormat.of();

  public NixHash {
    Objects.requireNonNull(algorithm, "algorithm");
    Objects.requireNonNull(bytes, "bytes");
    if (bytes.length != algorithm.size()) {
      throw new IllegalArgumentException(
          "a " + algorithm + " hash has " + algorithm.size() + " bytes, not " + bytes.length);
    }
    bytes = bytes.clone();
  }

  public static NixHash of(HashAlgorithm algorithm, byte[] bytes) {
    return new NixHash(algorithm, bytes);
  }

  /** The hash a finished {@link MessageDigest} of one of Nix's algorithms computed. */
  public static NixHash of(MessageDigest digest) {
    // "SHA-256" -> "sha256": the JDK's standard names are Nix's with a dash and in upper case.
    String name = digest.getAlgorithm();
    HashAlgorithm algorithm =
        HashAlgorithm.ofNixName(name.replace("-", "").toLowerCase(Locale.ROOT))
            .orElseThrow(
                () -> new IllegalArgumentException("Nix has no hash type for digest " + name));
    return new NixHash(algorithm, digest.digest());
  }

  public static NixHash sha256(byte[] digest) {
    return new NixHash(HashAlgorithm.SHA256, digest);
  }

  /**
   * Parses any typed form Nix accepts: {@code sha256:<base16>}, {@code sha256:<nix32>}, {@code
   * sha256:<base64>} and SRI {@code sha256-<base64>}, for md5, sha1, sha256 and sha512.
   *
   * @throws FormatException naming the input and what was wrong with it
   */
  public static NixHash parse(String text) {
    Objects.requireNonNull(text, "text");
    int colon = text.indexOf(':');
    int sep = colon >= 0 ? colon : text.indexOf('-');
    if (sep < 0) {
      throw new FormatException(
          subject(text),
          "no hash type: expected '<type>:<hash>' or SRI '<type>-<base64>', type one of md5,"
              + " sha1, sha256, sha512");
    }
    HashAlgorithm algorithm = algorithm(text, text.substring(0, sep));
    return colon >= 0
        ? decode(text, sep + 1, algorithm)
        : new NixHash(algorithm, decodeBase64(text, sep + 1, algorithm, "SRI"));
  }

  /**
   * Parses {@code text} (as {@link #parse}) and requires it to be of {@code expected} type, as Nix
   * does where the context fixes the type.
   */
  public static NixHash parse(String text, HashAlgorithm expected) {
    NixHash hash = parse(text);
    if (hash.algorithm != expected) {
      throw new FormatException(
          subject(text), "is a " + hash.algorithm + " hash, expected " + expected);
    }
    return hash;
  }

  /**
   * Parses a hash without its type prefix, in base-16, nix32 or base-64 chosen by length, as {@code
   * Hash::parseNonSRIUnprefixed} does (content addresses carry hashes like this).
   */
  public static NixHash parseUnprefixed(String text, HashAlgorithm algorithm) {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(algorithm, "algorithm");
    return decode(text, 0, algorithm);
  }

  private static HashAlgorithm algorithm(String original, String name) {
    return HashAlgorithm.ofNixName(name)
        .orElseThrow(
            () ->
                new FormatException(
                    subject(original),
                    "unknown hash type '"
                        + Nix32.quote(name)
                        + "' (expected md5, sha1, sha256 or sha512)"));
  }

  /** Decodes {@code original} from {@code from} on, the encoding chosen by length as in Nix. */
  private static NixHash decode(String original, int from, HashAlgorithm algorithm) {
    int length = original.length() - from;
    if (length == algorithm.base16Length()) {
      return new NixHash(algorithm, decodeBase16(original, from));
    }
    if (length == algorithm.nix32Length()) {
      return new NixHash(
          algorithm, Nix32.decode(original, from, algorithm.size(), subject(original)));
    }
    if (length == algorithm.base64Length()) {
      return new NixHash(algorithm, decodeBase64(original, from, algorithm, "base-64"));
    }
    throw new FormatException(
        subject(original),
        "a "
            + algorithm
            + " hash is written with "
            + algorithm.base16Length()
            + " (base-16), "
            + algorithm.nix32Length()
            + " (nix32) or "
            + algorithm.base64Length()
            + " (base-64) characters, not "
            + length);
  }

  private static byte[] decodeBase16(String original, int from) {
    byte[] out = new byte[(original.length() - from) / 2];
    for (int i = 0; i < out.length; i++) {
      int p = from + 2 * i;
      out[i] = (byte) (hexDigit(original, p) << 4 | hexDigit(original, p + 1));
    }
    return out;
  }

  private static int hexDigit(String original, int p) {
    char c = original.charAt(p);
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    throw new FormatException(
        subject(original), "position " + p, Nix32.describe(c) + " is not a base-16 digit");
  }

  private static byte[] decodeBase64(
      String original, int from, HashAlgorithm algorithm, String form) {
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(original.substring(from));
    } catch (IllegalArgumentException e) {
      throw new FormatException(subject(original), "invalid " + form + " hash: " + e.getMessage());
    }
    if (decoded.length != algorithm.size()) {
      throw new FormatException(
          subject(original),
          "invalid "
              + form
              + " hash: decodes to "
              + decoded.length
              + " bytes, a "
              + algorithm
              + " hash has "
              + algorithm.size());
    }
    return decoded;
  }

  private static String subject(String text) {
    return "hash '" + Nix32.quote(text) + "'";
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  /** {@code <type>:<nix32>}, the form narinfos and fingerprints use. */
  public String toNix32() {
    return algorithm.nixName() + ':' + Nix32.encode(bytes);
  }

  public String bareNix32() {
    return Nix32.encode(bytes);
  }

  /** {@code <type>:<base16>}, the form of the store database's {@code ValidPaths.hash}. */
  public String toBase16() {
    return algorithm.nixName() + ':' + HEX.formatHex(bytes);
  }

  public String bareBase16() {
    return HEX.formatHex(bytes);
  }

  /** {@code <type>:<base64>} (padded). */
  public String toBase64() {
    return algorithm.nixName() + ':' + bareBase64();
  }

  public String bareBase64() {
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** SRI: {@code <type>-<base64>}, as {@code nix path-info --json} prints. */
  public String toSri() {
    return algorithm.nixName() + '-' + bareBase64();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NixHash h && h.algorithm == algorithm && Arrays.equals(h.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return 31 * algorithm.hashCode() + Arrays.hashCode(bytes);
  }

  /** The nix32 form with type, {@link #toNix32()}. */
  @Override
  public String toString() {
    return toNix32();
  }
}
