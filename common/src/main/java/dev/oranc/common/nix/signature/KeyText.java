package dev.oranc.common.nix.signature;

import dev.oranc.common.error.FormatException;
import java.util.Base64;

/**
 * The {@code <name>:<base64>} text shared by Nix's keys and signatures ({@code split} and {@code
 * Key::Key} in Nix's {@code libstore/crypto.cc}): the name is everything before the first {@code
 * :}, and must not be empty.
 *
 * <p>We also refuse whitespace and control characters in names: the store database keeps signatures
 * space-separated and narinfos keep one per line, so such a name could not survive a round trip.
 * {@code nix key generate-secret} does not stop anyone from choosing one, but no cache in use has
 * one.
 */
final class KeyText {

  private KeyText() {}

  /** A validated name and the decoded bytes. */
  record Parsed(String name, byte[] bytes) {}

  /**
   * @param what what is being parsed, for messages: "secret key", "public key", "signature"
   * @param shown how to show the input in messages (never the text of a secret key)
   * @param secret whether to keep the base64 part out of messages, even a single character
   */
  static Parsed parse(String text, int expectedBytes, String what, String shown, boolean secret) {
    String subject = what + " " + shown;
    int colon = text.indexOf(':');
    if (colon < 0) {
      throw new FormatException(subject, "expected '<key name>:<base64>', found no ':'");
    }
    String name = text.substring(0, colon);
    checkName(subject, name);
    String base64 = text.substring(colon + 1);
    if (base64.isEmpty()) {
      throw new FormatException(subject, "position " + (colon + 1), "nothing after ':'");
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(base64);
    } catch (IllegalArgumentException e) {
      // The JDK's message may quote a character of the input.
      throw new FormatException(
          subject,
          "position " + (colon + 1),
          "the part after ':' is not base64" + (secret ? "" : ": " + e.getMessage()));
    }
    if (bytes.length != expectedBytes) {
      throw new FormatException(
          subject,
          "position " + (colon + 1),
          "the part after ':' decodes to "
              + bytes.length
              + " bytes, a "
              + what
              + " has "
              + expectedBytes);
    }
    return new Parsed(name, bytes);
  }

  /**
   * @throws FormatException if {@code name} cannot be a key name
   */
  static void checkName(String subject, String name) {
    if (name.isEmpty()) {
      throw new FormatException(subject, "the key name (before ':') is empty");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == ':' || c <= 0x20 || c == 0x7f || Character.isWhitespace(c)) {
        throw new FormatException(
            subject,
            "position " + i,
            "the key name contains "
                + (c == ':' ? "':'" : String.format("U+%04X", (int) c))
                + "; key names have no ':', whitespace or control characters");
      }
    }
  }

  static String quote(String text) {
    return "'" + (text.length() <= 200 ? text : text.substring(0, 200) + "…") + "'";
  }
}
