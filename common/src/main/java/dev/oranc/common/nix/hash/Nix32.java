package dev.oranc.common.nix.hash;

import dev.oranc.common.error.FormatException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Nix's base-32 ("nix32"), as {@code printHash32} and the base-32 branch of {@code Hash::Hash} in
 * Nix's {@code libutil/hash.cc} define it.
 *
 * <p>It is not RFC 4648: the alphabet is {@code 0123456789abcdfghijklmnpqrsvwxyz} (no e, o, u, t),
 * the bytes are read as one little-endian bit string, and the <em>last</em> character holds the
 * lowest five bits. For {@code n} bytes the text has ⌈8n/5⌉ characters; the 0 to 4 bits beyond
 * {@code 8n} that the first character carries must be zero, or Nix rejects the hash.
 *
 * <p>Both directions run per request in the server, so they are table-driven, walk the input once
 * with a bit accumulator and allocate only the result.
 */
public final class Nix32 {

  /** The digits, value 0 to 31. */
  public static final String ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";

  private static final byte[] DIGITS = ALPHABET.getBytes(StandardCharsets.US_ASCII);

  /** Character (below 128) to digit value, -1 for characters outside the alphabet. */
  private static final byte[] VALUES = new byte[128];

  /** Longest input quoted verbatim in an error message. */
  private static final int QUOTE_LIMIT = 120;

  static {
    Arrays.fill(VALUES, (byte) -1);
    for (int i = 0; i < DIGITS.length; i++) {
      VALUES[DIGITS[i]] = (byte) i;
    }
  }

  private Nix32() {}

  /** ⌈8n/5⌉: the number of characters that encode {@code byteLength} bytes. */
  public static int encodedLength(int byteLength) {
    if (byteLength < 0) {
      throw new IllegalArgumentException("negative length: " + byteLength);
    }
    return byteLength == 0 ? 0 : (byteLength * 8 - 1) / 5 + 1;
  }

  /**
   * The number of bytes that {@code textLength} characters encode, or -1 when no byte count encodes
   * to that many characters (⌈8n/5⌉ skips some lengths, such as 1, 3 and 6).
   */
  public static int decodedLength(int textLength) {
    if (textLength < 0) {
      throw new IllegalArgumentException("negative length: " + textLength);
    }
    int n = (int) ((long) textLength * 5 / 8);
    return encodedLength(n) == textLength ? n : -1;
  }

  /** Whether {@code c} is one of the 32 digits. */
  public static boolean isDigit(char c) {
    return c < 128 && VALUES[c] >= 0;
  }

  public static String encode(byte[] bytes) {
    return encode(bytes, 0, bytes.length);
  }

  public static String encode(byte[] bytes, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, bytes.length);
    byte[] out = new byte[encodedLength(length)];
    // Fill from the right: the last character takes the lowest bits of the first byte.
    int pos = out.length;
    int acc = 0;
    int bits = 0;
    for (int i = offset, end = offset + length; i < end; i++) {
      acc |= (bytes[i] & 0xff) << bits;
      bits += 8;
      while (bits >= 5) {
        out[--pos] = DIGITS[acc & 0x1f];
        acc >>>= 5;
        bits -= 5;
      }
    }
    if (bits > 0) {
      out[--pos] = DIGITS[acc & 0x1f];
    }
    // Latin-1 bytes become a compact String with a single copy.
    return new String(out, StandardCharsets.ISO_8859_1);
  }

  /**
   * Decodes {@code text}, inferring the byte count from its length.
   *
   * @throws FormatException if the length is not ⌈8n/5⌉ for any n, a character is outside the
   *     alphabet, or the excess bits are not zero
   */
  public static byte[] decode(CharSequence text) {
    int n = decodedLength(text.length());
    if (n < 0) {
      throw new FormatException(
          subject(text),
          "length "
              + text.length()
              + " is not the length of any nix32 string (⌈8n/5⌉ for n bytes)");
    }
    return decode(text, n);
  }

  /**
   * Decodes {@code text}, which must encode exactly {@code byteLength} bytes.
   *
   * @throws FormatException naming the input and, for a bad character, its position
   */
  public static byte[] decode(CharSequence text, int byteLength) {
    return decode(text, 0, byteLength, subject(text));
  }

  /**
   * Decodes {@code text} from index {@code from} to its end; errors carry {@code subject} and
   * positions counted from the start of {@code text}, so a caller parsing {@code sha256:...} can
   * point into its own input.
   */
  static byte[] decode(CharSequence text, int from, int byteLength, String subject) {
    int expected = encodedLength(byteLength);
    int end = text.length();
    if (end - from != expected) {
      throw new FormatException(
          subject,
          "has "
              + (end - from)
              + " nix32 characters, expected "
              + expected
              + " for "
              + byteLength
              + " bytes");
    }
    byte[] out = new byte[byteLength];
    int o = 0;
    int acc = 0;
    int bits = 0;
    for (int p = end - 1; p >= from; p--) {
      char c = text.charAt(p);
      int digit = c < 128 ? VALUES[c] : -1;
      if (digit < 0) {
        throw new FormatException(subject, "position " + p, describe(c) + " is not a nix32 digit");
      }
      acc |= digit << bits;
      bits += 5;
      if (bits >= 8) {
        out[o++] = (byte) acc;
        acc >>>= 8;
        bits -= 8;
      }
    }
    // What is left are the excess bits of the first character; Nix requires them to be zero so
    // that every hash has exactly one spelling.
    if (acc != 0) {
      throw new FormatException(
          subject,
          "position " + from,
          "first nix32 character '"
              + text.charAt(from)
              + "' has non-zero bits beyond the "
              + byteLength
              + "-byte value");
    }
    return out;
  }

  private static String subject(CharSequence text) {
    return "nix32 string '" + quote(text) + "'";
  }

  static String quote(CharSequence text) {
    return text.length() <= QUOTE_LIMIT
        ? text.toString()
        : text.subSequence(0, QUOTE_LIMIT) + "…(" + text.length() + " characters)";
  }

  static String describe(char c) {
    return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("character U+%04X", (int) c);
  }
}
