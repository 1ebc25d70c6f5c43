package dev.oranc.common.nix.signature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.hash.NixVectors;
import dev.oranc.common.nix.store.StorePath;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every fingerprint and signature Nix made for nix-signing.json, reproduced and verified. */
class SigningVectorsTest {

  private static final SecretKey KEY =
      SecretKey.parse((String) NixVectors.signing().get("secret_key"));
  private static final PublicKey PUBLIC =
      PublicKey.parse((String) NixVectors.signing().get("public_key"));

  @SuppressWarnings("unchecked")
  static Fingerprint fingerprintOf(Map<String, Object> p) {
    List<StorePath> refs =
        ((List<String>) p.get("references")).stream().map(StorePath::parse).toList();
    return Fingerprint.of(
        StorePath.parse((String) p.get("store_path")),
        NixHash.parse((String) p.get("nar_hash_base16_as_in_nix_db")),
        ((Number) p.get("nar_size")).longValue(),
        refs);
  }

  @Test
  void fingerprintsSignaturesAndVerification() {
    List<Map<String, Object>> paths = NixVectors.signingPaths();
    assertEquals(2, paths.size());
    for (Map<String, Object> p : paths) {
      Fingerprint fp = fingerprintOf(p);
      assertEquals(p.get("fingerprint"), fp.text());
      assertEquals(p.get("fingerprint"), new String(fp.bytes(), StandardCharsets.UTF_8));
      NixSignature sig = KEY.sign(fp);
      assertEquals(p.get("signature"), sig.toString());
      assertTrue(PUBLIC.verify(fp, NixSignature.parse((String) p.get("signature"))));
      assertEquals(sig, KEY.sign(fp.bytes()));
    }
  }

  @Test
  void verificationFailsForOtherDataKeysAndNames() {
    Map<String, Object> p = NixVectors.signingPaths().get(1);
    Fingerprint fp = fingerprintOf(p);
    NixSignature sig = NixSignature.parse((String) p.get("signature"));
    Fingerprint otherSize =
        Fingerprint.of(fp.storePath(), fp.narHash(), fp.narSize() + 1, fp.references());
    Fingerprint noRefs = Fingerprint.of(fp.storePath(), fp.narHash(), fp.narSize(), List.of());
    assertFalse(PUBLIC.verify(otherSize, sig));
    assertFalse(PUBLIC.verify(noRefs, sig));
    PublicKey sameBytesOtherName = new PublicKey("test-2", PUBLIC.bytes());
    assertFalse(sameBytesOtherName.verify(fp, sig), "Nix looks keys up by name");
    byte[] flipped = sig.bytes();
    flipped[10] ^= 1;
    assertFalse(PUBLIC.verify(fp, new NixSignature("test-1", flipped)));
  }

  @Test
  void fingerprintSortsReferencesAndRefusesUnknownSizes() {
    StorePath a = StorePath.parse("/nix/store/0r2v93mqaf9d2zyqi8pgmyzmf879753y-top");
    StorePath b = StorePath.parse("/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep");
    NixHash h = NixHash.sha256(new byte[32]);
    Fingerprint fp = Fingerprint.of(a, h, 5, List.of(b, a, b));
    assertEquals(List.of(a, b), fp.references());
    assertTrue(fp.text().endsWith(";5;" + a + "," + b), fp.text());
    assertThrows(IllegalArgumentException.class, () -> Fingerprint.of(a, h, 0, List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> Fingerprint.of(a, h, 5, List.of(b.withStoreDir("/other/store"))));
  }
}
