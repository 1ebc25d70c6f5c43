package dev.oranc.common.nix.hash;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Nix32Test {

  private static final HexFormat HEX = HexFormat.of();

  /** The definition, bit by bit: character i from the end holds bits 5i..5i+4. */
  private static String referenceEncode(byte[] bytes) {
    int len = bytes.length == 0 ? 0 : (bytes.length * 8 - 1) / 5 + 1;
    StringBuilder sb = new StringBuilder();
    for (int n = len - 1; n >= 0; n--) {
      int value = 0;
      for (int k = 0; k < 5; k++) {
        int bit = 5 * n + k;
        if (bit < 8 * bytes.length && ((bytes[bit / 8] >> (bit % 8)) & 1) != 0) {
          value |= 1 << k;
        }
      }
      sb.append(Nix32.ALPHABET.charAt(value));
    }
    return sb.toString();
  }

  @Test
  void narVectorsEncodeAndDecode() {
    List<Object> nars = NixVectors.nars();
    assertTrue(nars.size() >= 5);
    for (Object o : nars) {
      Map<?, ?> nar = (Map<?, ?>) o;
      byte[] digest = HEX.parseHex((String) nar.get("nar_sha256_base16"));
      String nix32 = (String) nar.get("nar_sha256_nix32");
      assertEquals(nix32, Nix32.encode(digest), () -> "encode " + nar.get("name"));
      assertArrayEquals(digest, Nix32.decode(nix32), () -> "decode " + nar.get("name"));
      assertArrayEquals(digest, Nix32.decode(nix32, 32));
    }
  }

  @Test
  void signingVectorsEncodeAndDecode() {
    for (Map<String, Object> path : NixVectors.signingPaths()) {
      String base16 = ((String) path.get("nar_hash_base16_as_in_nix_db")).substring(7);
      String nix32 = ((String) path.get("nar_hash_nix32")).substring(7);
      assertEquals(nix32, Nix32.encode(HEX.parseHex(base16)));
      assertEquals(base16, HEX.formatHex(Nix32.decode(nix32)));
    }
  }

  @Test
  void agreesWithTheDefinitionAndRoundTripsForEveryLength() {
    Random random = new Random(42);
    for (int n = 0; n <= 130; n++) {
      for (int trial = 0; trial < 20; trial++) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        String encoded = Nix32.encode(bytes);
        assertEquals(referenceEncode(bytes), encoded, "n=" + n);
        assertEquals(Nix32.encodedLength(n), encoded.length());
        assertEquals(n, Nix32.decodedLength(encoded.length()));
        assertArrayEquals(bytes, Nix32.decode(encoded));
      }
    }
  }

  @Test
  void encodesASliceOfAnArray() {
    byte[] bytes = HEX.parseHex("ff0102ff");
    assertEquals(Nix32.encode(HEX.parseHex("0102")), Nix32.encode(bytes, 1, 2));
  }

  @Test
  void lengthsFollowTheFormula() {
    assertEquals(52, Nix32.encodedLength(32));
    assertEquals(32, Nix32.encodedLength(20));
    assertEquals(26, Nix32.encodedLength(16));
    assertEquals(103, Nix32.encodedLength(64));
    assertEquals(0, Nix32.encodedLength(0));
    // ⌈8n/5⌉ skips some lengths
    assertEquals(-1, Nix32.decodedLength(1));
    assertEquals(-1, Nix32.decodedLength(3));
    assertEquals(-1, Nix32.decodedLength(51));
    assertEquals(32, Nix32.decodedLength(52));
  }

  @ParameterizedTest
  @ValueSource(chars = {'e', 'o', 'u', 't', 'A', 'Z', '-', '_', '=', ' ', 'é'})
  void rejectsCharactersOutsideTheAlphabetNamingTheirPosition(char bad) {
    StringBuilder text = new StringBuilder("0".repeat(52));
    text.setCharAt(17, bad);
    FormatException e =
        assertThrows(FormatException.class, () -> Nix32.decode(text.toString(), 32));
    assertEquals("position 17", e.location());
    assertTrue(e.getMessage().contains("not a nix32 digit"), e.getMessage());
    assertTrue(e.getMessage().contains(text), e.getMessage());
  }

  @Test
  void rejectsNonZeroExcessBitsAsNixDoes() {
    // 52 characters carry 260 bits; a sha256 has 256, so the first character is 0 or 1.
    assertEquals(32, Nix32.decode("1" + "0".repeat(51), 32).length);
    for (char first : "23456789abcdfghijklmnpqrsvwxyz".toCharArray()) {
      FormatException e =
          assertThrows(FormatException.class, () -> Nix32.decode(first + "0".repeat(51), 32));
      assertEquals("position 0", e.location());
      assertTrue(e.getMessage().contains("non-zero bits"), e.getMessage());
    }
    // 20 bytes are exactly 32 characters: no excess, every first character is fine.
    assertEquals(20, Nix32.decode("z" + "0".repeat(31), 20).length);
  }

  @Test
  void rejectsWrongLengths() {
    FormatException e = assertThrows(FormatException.class, () -> Nix32.decode("0".repeat(51), 32));
    assertTrue(e.getMessage().contains("51"), e.getMessage());
    assertTrue(e.getMessage().contains("52"), e.getMessage());
    FormatException inferred = assertThrows(FormatException.class, () -> Nix32.decode("000"));
    assertTrue(inferred.getMessage().contains("length 3"), inferred.getMessage());
  }

  @Test
  void longInputIsShortenedInMessages() {
    String text = "e".repeat(10_000);
    FormatException e = assertThrows(FormatException.class, () -> Nix32.decode(text));
    assertTrue(e.getMessage().length() < 400, e.getMessage());
  }

  @Test
  void isDigitMatchesTheAlphabet() {
    for (char c = 0; c < 300; c++) {
      assertEquals(Nix32.ALPHABET.indexOf(c) >= 0, Nix32.isDigit(c), "char " + (int) c);
    }
  }
}
