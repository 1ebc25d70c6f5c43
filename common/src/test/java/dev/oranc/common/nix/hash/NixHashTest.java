package dev.oranc.common.nix.hash;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class NixHashTest {

  @Test
  void signingVectorsParseInEveryFormAndFormatBack() {
    for (Map<String, Object> path : NixVectors.signingPaths()) {
      String nix32 = (String) path.get("nar_hash_nix32");
      String base16 = (String) path.get("nar_hash_base16_as_in_nix_db");
      String sri = (String) path.get("nar_hash_sri");
      NixHash hash = NixHash.parse(nix32);
      assertEquals(HashAlgorithm.SHA256, hash.algorithm());
      assertEquals(hash, NixHash.parse(base16));
      assertEquals(hash, NixHash.parse(sri));
      assertEquals(hash, NixHash.parse(hash.toBase64()));
      assertEquals(
          hash, NixHash.parse(base16.toUpperCase(Locale.ROOT).replace("SHA256", "sha256")));
      assertEquals(nix32, hash.toNix32());
      assertEquals(nix32, hash.toString());
      assertEquals(base16, hash.toBase16());
      assertEquals(sri, hash.toSri());
      assertEquals(nix32.substring(7), hash.bareNix32());
      assertEquals(base16.substring(7), hash.bareBase16());
      assertEquals(sri.substring(7), hash.bareBase64());
    }
  }

  @ParameterizedTest
  @EnumSource(HashAlgorithm.class)
  void everyFormRoundTripsForEveryAlgorithm(HashAlgorithm algorithm) {
    Random random = new Random(algorithm.ordinal());
    for (int i = 0; i < 200; i++) {
      byte[] bytes = new byte[algorithm.size()];
      random.nextBytes(bytes);
      NixHash hash = NixHash.of(algorithm, bytes);
      for (String form :
          new String[] {hash.toNix32(), hash.toBase16(), hash.toBase64(), hash.toSri()}) {
        assertEquals(hash, NixHash.parse(form), form);
      }
      assertEquals(hash, NixHash.parseUnprefixed(hash.bareNix32(), algorithm));
      assertEquals(hash, NixHash.parseUnprefixed(hash.bareBase16(), algorithm));
      assertEquals(hash, NixHash.parseUnprefixed(hash.bareBase64(), algorithm));
    }
    assertEquals(
        algorithm.nix32Length(),
        NixHash.of(algorithm, new byte[algorithm.size()]).bareNix32().length());
    assertEquals(
        algorithm.base64Length(),
        NixHash.of(algorithm, new byte[algorithm.size()]).bareBase64().length());
  }

  @Test
  void ofMessageDigestTakesTheAlgorithmFromTheDigest() throws Exception {
    for (HashAlgorithm algorithm : HashAlgorithm.values()) {
      MessageDigest md = algorithm.newDigest();
      md.update("hello".getBytes(StandardCharsets.UTF_8));
      byte[] expected = algorithm.newDigest().digest("hello".getBytes(StandardCharsets.UTF_8));
      NixHash hash = NixHash.of(md);
      assertEquals(algorithm, hash.algorithm());
      assertArrayEquals(expected, hash.bytes());
    }
    assertThrows(
        IllegalArgumentException.class, () -> NixHash.of(MessageDigest.getInstance("SHA-384")));
  }

  @Test
  void valueSemanticsAndDefensiveCopies() {
    byte[] bytes = new byte[32];
    NixHash a = NixHash.sha256(bytes);
    bytes[0] = 1;
    assertEquals(0, a.bytes()[0]);
    a.bytes()[0] = 9;
    assertEquals(0, a.bytes()[0]);
    assertEquals(a, NixHash.sha256(new byte[32]));
    assertEquals(a.hashCode(), NixHash.sha256(new byte[32]).hashCode());
    assertNotEquals(a, NixHash.sha256(bytes));
    assertThrows(
        IllegalArgumentException.class, () -> NixHash.of(HashAlgorithm.SHA1, new byte[32]));
  }

  @Test
  void colonWinsOverDashAsInNix() {
    // Nix looks for ':' first: "sha256-x:y" has type "sha256-x".
    FormatException e =
        assertThrows(FormatException.class, () -> NixHash.parse("sha256-abc:" + "0".repeat(52)));
    assertTrue(e.getMessage().contains("unknown hash type 'sha256-abc'"), e.getMessage());
  }

  @Test
  void parseWithExpectedType() {
    String sha1 = NixHash.of(HashAlgorithm.SHA1, new byte[20]).toNix32();
    assertEquals(HashAlgorithm.SHA1, NixHash.parse(sha1, HashAlgorithm.SHA1).algorithm());
    FormatException e =
        assertThrows(FormatException.class, () -> NixHash.parse(sha1, HashAlgorithm.SHA256));
    assertTrue(e.getMessage().contains("is a sha1 hash, expected sha256"), e.getMessage());
  }

  private static FormatException fails(String input) {
    FormatException e = assertThrows(FormatException.class, () -> NixHash.parse(input));
    assertTrue(e.getMessage().contains(input), () -> "message names the input: " + e.getMessage());
    return e;
  }

  @Test
  void malformedHashesSayWhatIsWrong() {
    assertTrue(
        fails("00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv")
            .problem()
            .contains("no hash type"));
    assertTrue(fails("sha3:abc").problem().contains("unknown hash type 'sha3'"));
    assertTrue(fails("SHA256:" + "0".repeat(52)).problem().contains("unknown hash type 'SHA256'"));
    FormatException wrongLength = fails("sha256:abc");
    assertTrue(
        wrongLength.problem().contains("64 (base-16), 52 (nix32) or 44 (base-64)"),
        wrongLength.problem());
    assertTrue(wrongLength.problem().contains("characters, not 3"), wrongLength.problem());

    FormatException badNix32 = fails("sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknve");
    assertEquals("position 58", badNix32.location());
    assertTrue(badNix32.problem().contains("'e' is not a nix32 digit"), badNix32.problem());

    FormatException excess = fails("sha256:z0kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv");
    assertEquals("position 7", excess.location());

    FormatException badHex =
        fails("sha256:7bdbc9e6407d9d3ed40adc64d746be6366b5f58ee668c6b02866008bbef5720g");
    assertEquals("position 70", badHex.location());
    assertTrue(badHex.problem().contains("'g' is not a base-16 digit"), badHex.problem());

    assertTrue(
        fails("sha256-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771")
            .problem()
            .contains("invalid SRI hash: decodes to 30 bytes"));
    assertTrue(
        fails("sha256-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771cgI=!")
            .problem()
            .contains("invalid SRI hash"));
    assertTrue(
        fails("sha256:e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771cg!=")
            .problem()
            .contains("invalid base-64 hash"));
    assertTrue(fails("md5-").problem().contains("decodes to 0 bytes"));
  }

  @Test
  void algorithmsHaveNixNamesAndSizes() {
    assertEquals("sha256", HashAlgorithm.SHA256.nixName());
    assertEquals(64, HashAlgorithm.SHA512.size());
    assertEquals(HashAlgorithm.MD5, HashAlgorithm.ofNixName("md5").orElseThrow());
    assertTrue(HashAlgorithm.ofNixName("SHA1").isEmpty());
  }
}
