package dev.oranc.common.tag;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.StrictUtf8;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The ways a cache key (arbitrary Unicode, e.g. {@code nar/0vz5….nar.zst}) becomes an OCI tag.
 *
 * <h2>Design note</h2>
 *
 * OCI tags match {@code [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}}, so most keys cannot be tags as they
 * are. Both encodings are fixed by compatibility with the Rust oranc (SPEC §2), whose caches we
 * read and which reads ours; neither may change.
 *
 * <p>{@link #CUSTOM} keeps keys readable and short: letters and digits are copied; {@code -} and
 * {@code .} are copied except as the first character (a tag cannot start with them); every other
 * Unicode code point becomes {@code _<code point in base 64>_}, digits {@code 0-9a-zA-Z-.}, most
 * significant first, no leading zeros (so U+0000 is {@code __}). The escape character {@code _} is
 * itself escaped ({@code _1v_}), so decoding is unambiguous. We walk code points, not UTF-16 units:
 * {@code 😀} is one escape ({@code _vo0_}), not two surrogate escapes. Decoding is the exact
 * inverse and is strict: an escape with a leading zero, or one that spells a character the encoder
 * would have copied, is rejected, so every tag decodes to the one key that encodes to it.
 *
 * <p>{@link #BASE32_DNSSEC} is RFC 4648 "base32hex" of the key's UTF-8 bytes, lower case, no
 * padding (the {@code data-encoding} crate's BASE32_DNSSEC). Old oranc versions used it;
 * realisation keys are too long for it. Decoding accepts either case, as that crate does, and
 * rejects non-zero trailing bits and impossible lengths.
 *
 * <p>Encoding does not check the 128-character bound: {@link TagCodec} does, and stores a key whose
 * tag would be longer under its hashed tag, a shape neither encoding can produce (its design note).
 */
public enum TagEncoding {
  CUSTOM("custom") {
    @Override
    public String encode(String key) {
      return encodeCustom(key);
    }

    @Override
    public String decode(String tag) {
      return decodeCustom(tag);
    }
  },
  BASE32_DNSSEC("base32-dnssec") {
    @Override
    public String encode(String key) {
      return encodeBase32(key.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String decode(String tag) {
      return decodeBase32(tag);
    }
  };

  private final String cliName;

  TagEncoding(String cliName) {
    this.cliName = cliName;
  }

  /** The key's tag in this encoding; may exceed the 128 characters a tag may have. */
  public abstract String encode(String key);

  /**
   * The key a tag stands for.
   *
   * @throws FormatException naming the tag and the position of the first problem
   */
  public abstract String decode(String tag);

  /** The name used on the command line and in messages: {@code custom}, {@code base32-dnssec}. */
  public String cliName() {
    return cliName;
  }

  @Override
  public String toString() {
    return cliName;
  }

  /** All names accepted by {@link #byName}, for help texts and error messages. */
  public static String acceptedNames() {
    return Arrays.stream(values()).map(TagEncoding::cliName).collect(Collectors.joining(", "));
  }

  /**
   * The encoding called {@code name} (case-insensitive).
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static TagEncoding byName(String name) {
    String wanted = name.toLowerCase(Locale.ROOT);
    for (TagEncoding encoding : values()) {
      if (encoding.cliName.equals(wanted)) {
        return encoding;
      }
    }
    throw new IllegalArgumentException(
        "unknown tag encoding '" + name + "' (expected one of: " + acceptedNames() + ")");
  }

  // ---- custom ------------------------------------------------------------------------------

  private static final char[] DIGITS =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.".toCharArray();
  private static final byte[] DIGIT_VALUES = new byte[128];

  static {
    Arrays.fill(DIGIT_VALUES, (byte) -1);
    for (int i = 0; i < DIGITS.length; i++) {
      DIGIT_VALUES[DIGITS[i]] = (byte) i;
    }
  }

  private static boolean isAlphanumeric(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }

  private static boolean copiedLiterally(int codePoint, boolean first) {
    return isAlphanumeric(codePoint) || (!first && (codePoint == '-' || codePoint == '.'));
  }

  private static String encodeCustom(String key) {
    // Fast path: most keys (narinfo names, nix-cache-info) need no escape at all.
    int length = key.length();
    int i = 0;
    while (i < length && copiedLiterally(key.charAt(i), i == 0)) {
      i++;
    }
    if (i == length) {
      return key;
    }
    StringBuilder out = new StringBuilder(length + 16);
    out.append(key, 0, i);
    while (i < length) {
      int codePoint = key.codePointAt(i);
      if (copiedLiterally(codePoint, i == 0)) {
        out.append((char) codePoint);
      } else {
        appendEscape(out, codePoint);
      }
      i += Character.charCount(codePoint);
    }
    return out.toString();
  }

  private static void appendEscape(StringBuilder out, int codePoint) {
    out.append('_');
    // A code point is at most 0x10FFFF < 64^4: four digits suffice.
    char[] digits = new char[4];
    int n = 0;
    for (int v = codePoint; v != 0; v >>>= 6) {
      digits[n++] = DIGITS[v & 63];
    }
    while (n > 0) {
      out.append(digits[--n]);
    }
    out.append('_');
  }

  private static String decodeCustom(String tag) {
    StringBuilder out = new StringBuilder(tag.length());
    int length = tag.length();
    int i = 0;
    while (i < length) {
      char c = tag.charAt(i);
      if (c == '_') {
        int start = i;
        int value = 0;
        int digits = 0;
        i++;
        while (true) {
          if (i >= length) {
            throw malformed(tag, start, "escape '_' is not closed by a second '_'");
          }
          char d = tag.charAt(i);
          if (d == '_') {
            break;
          }
          int digit = d < 128 ? DIGIT_VALUES[d] : -1;
          if (digit < 0) {
            throw malformed(tag, i, describe(d) + " is not a base-64 digit (0-9a-zA-Z-.)");
          }
          if (digits == 0 && digit == 0) {
            throw malformed(tag, i, "escape has a leading zero digit");
          }
          value = value * 64 + digit;
          digits++;
          if (value > Character.MAX_CODE_POINT) {
            throw malformed(tag, start, "escape is beyond the last Unicode code point U+10FFFF");
          }
          i++;
        }
        if (value >= Character.MIN_SURROGATE && value <= Character.MAX_SURROGATE) {
          throw malformed(
              tag,
              start,
              String.format("escape U+%04X is a surrogate, not a Unicode character", value));
        }
        if (copiedLiterally(value, out.length() == 0)) {
          throw malformed(
              tag, start, "escape spells '" + (char) value + "', which is written as itself");
        }
        out.appendCodePoint(value);
        i++;
      } else if (copiedLiterally(c, out.length() == 0)) {
        out.append(c);
        i++;
      } else if (c == '-' || c == '.') {
        throw malformed(tag, i, "a key cannot start with a literal '" + c + "' (it is escaped)");
      } else {
        throw malformed(tag, i, describe(c) + " cannot appear in a tag");
      }
    }
    return out.toString();
  }

  // ---- base32-dnssec -----------------------------------------------------------------------

  private static final char[] BASE32HEX = "0123456789abcdefghijklmnopqrstuv".toCharArray();

  private static String encodeBase32(byte[] data) {
    StringBuilder out = new StringBuilder((data.length * 8 + 4) / 5);
    int buffer = 0;
    int bits = 0;
    for (byte b : data) {
      buffer = (buffer << 8) | (b & 0xff);
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        out.append(BASE32HEX[(buffer >>> bits) & 31]);
      }
    }
    if (bits > 0) {
      out.append(BASE32HEX[(buffer << (5 - bits)) & 31]);
    }
    return out.toString();
  }

  private static int base32Value(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'v') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'V') {
      return c - 'A' + 10;
    }
    return -1;
  }

  private static String decodeBase32(String tag) {
    int rest = tag.length() % 8;
    if (rest == 1 || rest == 3 || rest == 6) {
      throw malformed(
          tag, tag.length() - 1, "base32 length " + tag.length() + " cannot come from whole bytes");
    }
    byte[] out = new byte[tag.length() * 5 / 8];
    int buffer = 0;
    int bits = 0;
    int n = 0;
    for (int i = 0; i < tag.length(); i++) {
      char c = tag.charAt(i);
      int value = base32Value(c);
      if (value < 0) {
        throw malformed(tag, i, describe(c) + " is not a base32hex digit (0-9a-v)");
      }
      buffer = (buffer << 5) | value;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[n++] = (byte) (buffer >>> bits);
      }
    }
    if ((buffer & ((1 << bits) - 1)) != 0) {
      throw malformed(tag, tag.length() - 1, "base32 has non-zero trailing bits");
    }
    return StrictUtf8.decode(
        out, "tag '" + tag + "'", "base32-dnssec decodes to bytes that are not UTF-8 text");
  }

  // ---- errors ------------------------------------------------------------------------------

  private static String describe(char c) {
    return c >= 0x21 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
  }

  /** Positions in messages count characters from 1, as a person reading the tag would. */
  private static FormatException malformed(String tag, int index, String problem) {
    return new FormatException("tag '" + tag + "'", "character " + (index + 1), problem);
  }
}
