package dev.oranc.common.nix.signature;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.NixVectors;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeysTest {

  private static final Map<String, Object> V = NixVectors.signing();
  private static final String SECRET = (String) V.get("secret_key");
  private static final String PUBLIC = (String) V.get("public_key");

  @Test
  void secretKeyGivesTheVectorsPublicKey() {
    SecretKey key = SecretKey.parse(SECRET);
    assertEquals("test-1", key.name());
    assertEquals(PUBLIC, key.publicKey().toString());
    assertEquals(PublicKey.parse(PUBLIC), key.publicKey());
    assertEquals(SECRET, key.toNixText());
    // A key read from a file or an environment variable may end with a newline.
    assertEquals(PUBLIC, SecretKey.parse("  " + SECRET + "\n").publicKey().toString());
    assertEquals(PublicKey.parse(PUBLIC), PublicKey.parse(PUBLIC + "\n"));
  }

  @Test
  void secretKeyNeverPrintsItsSecret() {
    SecretKey key = SecretKey.parse(SECRET);
    String printed = key.toString();
    String base64 = SECRET.substring(SECRET.indexOf(':') + 1);
    byte[] bytes = Base64.getDecoder().decode(base64);
    String seed = Base64.getEncoder().encodeToString(Arrays.copyOf(bytes, 32));
    assertFalse(printed.contains(base64), printed);
    assertFalse(printed.contains(seed.substring(0, 20)), printed);
    assertTrue(printed.contains("test-1"), printed);
    assertTrue(printed.contains("redacted"), printed);
    assertFalse(String.valueOf(key).contains(base64.substring(0, 16)));
  }

  @Test
  void corruptSecretKeysAreRejectedWithoutQuotingThem() {
    byte[] bytes = Base64.getDecoder().decode(SECRET.substring(7));
    bytes[40] ^= 1; // the public half no longer matches the seed
    String mismatched = "test-1:" + Base64.getEncoder().encodeToString(bytes);
    FormatException e = assertThrows(FormatException.class, () -> SecretKey.parse(mismatched));
    assertTrue(e.getMessage().contains("is not the public key of its first half"), e.getMessage());
    assertSecretAbsent(e, mismatched.substring(7));

    String shortKey = "test-1:" + Base64.getEncoder().encodeToString(Arrays.copyOf(bytes, 32));
    FormatException tooShort = assertThrows(FormatException.class, () -> SecretKey.parse(shortKey));
    assertTrue(
        tooShort.getMessage().contains("decodes to 32 bytes, a secret key has 64"),
        tooShort.getMessage());
    assertSecretAbsent(tooShort, shortKey.substring(7));

    String notBase64 = SECRET.substring(0, 20) + "%" + SECRET.substring(21);
    FormatException bad = assertThrows(FormatException.class, () -> SecretKey.parse(notBase64));
    assertEquals("position 7", bad.location());
    assertFalse(bad.getMessage().contains("%"), bad.getMessage());
    assertSecretAbsent(bad, SECRET.substring(7));

    FormatException noColon =
        assertThrows(FormatException.class, () -> SecretKey.parse(SECRET.substring(7)));
    assertTrue(noColon.getMessage().contains("no ':'"), noColon.getMessage());
    assertSecretAbsent(noColon, SECRET.substring(7));

    FormatException noName =
        assertThrows(FormatException.class, () -> SecretKey.parse(SECRET.substring(6)));
    assertTrue(noName.getMessage().contains("key name (before ':') is empty"), noName.getMessage());
    assertThrows(FormatException.class, () -> SecretKey.parse("test-1:"));
  }

  private static void assertSecretAbsent(FormatException e, String base64) {
    for (int i = 0; i + 8 <= base64.length(); i += 4) {
      String piece = base64.substring(i, i + 8);
      assertFalse(
          e.getMessage().contains(piece), () -> "message quotes the key: " + e.getMessage());
    }
  }

  @Test
  void publicKeyParsingSaysWhatIsWrong() {
    FormatException shortKey =
        assertThrows(
            FormatException.class,
            () -> PublicKey.parse("k:" + Base64.getEncoder().encodeToString(new byte[31])));
    assertTrue(
        shortKey.getMessage().contains("decodes to 31 bytes, a public key has 32"),
        shortKey.getMessage());
    assertTrue(shortKey.getMessage().contains("'k:"), "names the input: " + shortKey.getMessage());
    byte[] notAPoint = new byte[32];
    Arrays.fill(notAPoint, (byte) 0xff);
    notAPoint[31] = 0x7f; // y = 2^255 - 1 > p: not a canonical field element
    FormatException e =
        assertThrows(
            FormatException.class,
            () -> PublicKey.parse("k:" + Base64.getEncoder().encodeToString(notAPoint)));
    assertTrue(e.getMessage().contains("not an Ed25519 public key"), e.getMessage());
    FormatException space =
        assertThrows(FormatException.class, () -> PublicKey.parse("a b" + PUBLIC.substring(6)));
    assertEquals("position 1", space.location());
  }

  @Test
  void generatedKeysSignAndVerify() {
    SecretKey key = SecretKey.generate("fresh-1", new SecureRandom());
    byte[] message = "1;/nix/store/x;sha256:y;1;".getBytes(StandardCharsets.UTF_8);
    NixSignature sig = key.sign(message);
    assertEquals("fresh-1", sig.keyName());
    assertTrue(key.publicKey().verify(message, sig));
    SecretKey reparsed = SecretKey.parse(key.toNixText());
    assertEquals(key.publicKey(), reparsed.publicKey());
    assertEquals(sig, reparsed.sign(message));
  }

  @Test
  void signaturesParseAndPrint() {
    for (Map<String, Object> p : NixVectors.signingPaths()) {
      String text = (String) p.get("signature");
      NixSignature sig = NixSignature.parse(text);
      assertEquals("test-1", sig.keyName());
      assertEquals(64, sig.bytes().length);
      assertEquals(text, sig.toString());
      assertEquals(sig, NixSignature.parse(text));
      assertEquals(sig.hashCode(), NixSignature.parse(text).hashCode());
    }
    String a = (String) NixVectors.signingPaths().get(0).get("signature");
    String b = (String) NixVectors.signingPaths().get(1).get("signature");
    assertEquals(
        List.of(NixSignature.parse(a), NixSignature.parse(b)),
        NixSignature.parseList("  " + a + "   " + b + " "));
    assertTrue(NixSignature.parseList("").isEmpty());
    assertTrue(NixSignature.parseList(null).isEmpty());

    FormatException truncated =
        assertThrows(
            FormatException.class, () -> NixSignature.parse(a.substring(0, a.length() - 4)));
    assertTrue(truncated.getMessage().contains("a signature has 64"), truncated.getMessage());
    assertTrue(
        truncated.getMessage().contains(a.substring(0, 20)),
        "names the input: " + truncated.getMessage());
    assertThrows(FormatException.class, () -> NixSignature.parse("no-colon"));
    assertThrows(FormatException.class, () -> NixSignature.parse(":" + a.substring(7)));
    assertArrayEquals(NixSignature.parse(a).bytes(), Base64.getDecoder().decode(a.substring(7)));
  }
}
