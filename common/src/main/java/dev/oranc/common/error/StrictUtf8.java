package dev.oranc.common.error;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Input that must be UTF-8 text (a narinfo, a decoded tag or path segment, credentials, the store
 * paths push reads): bytes that are not UTF-8 are refused, never replaced with U+FFFD as {@code new
 * String(bytes, UTF_8)} would, since a replaced character would name another key, path or user than
 * the one sent.
 */
public final class StrictUtf8 {

  private StrictUtf8() {}

  /** A decoder that reports malformed input instead of replacing it (one per use). */
  public static CharsetDecoder decoder() {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
  }

  /** The text, or empty when the bytes are not UTF-8. */
  public static Optional<String> decode(byte[] bytes, int offset, int length) {
    try {
      return Optional.of(decoder().decode(ByteBuffer.wrap(bytes, offset, length)).toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }

  /**
   * The text.
   *
   * @throws FormatException {@code subject: problem} when the bytes are not UTF-8
   */
  public static String decode(byte[] bytes, String subject, String problem) {
    return decode(bytes, 0, bytes.length).orElseThrow(() -> new FormatException(subject, problem));
  }
}
