package dev.oranc.common.nix.signature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.nix.hash.NixVectors;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SignaturesTest {

  private static final SecretKey KEY =
      SecretKey.parse((String) NixVectors.signing().get("secret_key"));
  private static final Map<String, Object> TOP = NixVectors.signingPaths().get(1);
  private static final Fingerprint FP = SigningVectorsTest.fingerprintOf(TOP);
  private static final NixSignature OURS = NixSignature.parse((String) TOP.get("signature"));
  private static final NixSignature OFFICIAL =
      SecretKey.generate("cache.nixos.org-1", new SecureRandom()).sign(FP);
  private static final NixSignature OTHER =
      SecretKey.generate("other", new SecureRandom()).sign(FP);

  @Test
  void appendsOursAfterOthersKeepingTheirOrder() {
    assertEquals(List.of(OURS), Signatures.merge(FP, List.of(), KEY));
    assertEquals(
        List.of(OTHER, OFFICIAL, OURS), Signatures.merge(FP, List.of(OTHER, OFFICIAL), KEY));
  }

  @Test
  void keepsTheListWhenOursIsAlreadyThere() {
    assertEquals(List.of(OURS, OTHER), Signatures.merge(FP, List.of(OURS, OTHER), KEY));
    assertEquals(List.of(OTHER, OURS), Signatures.merge(FP, List.of(OTHER, OURS), KEY));
  }

  @Test
  void sameNameButAnotherKeyIsAnErrorForThatPath() {
    NixSignature impostor = SecretKey.generate("test-1", new SecureRandom()).sign(FP);
    IntegrityException e =
        assertThrows(
            IntegrityException.class, () -> Signatures.merge(FP, List.of(OTHER, impostor), KEY));
    assertTrue(e.getMessage().startsWith(FP.storePath().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("does not verify with our public key"), e.getMessage());
  }

  @Test
  void ourSignatureOverOtherDataIsAnErrorForThatPath() {
    Fingerprint changed =
        Fingerprint.of(FP.storePath(), FP.narHash(), FP.narSize() + 1, FP.references());
    NixSignature stale = KEY.sign(changed);
    IntegrityException e =
        assertThrows(IntegrityException.class, () -> Signatures.merge(FP, List.of(stale), KEY));
    assertTrue(e.getMessage().contains(FP.storePath().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("NAR hash, size or references"), e.getMessage());
  }

  @Test
  void mergeWithASignatureAlreadyMade() {
    assertEquals(List.of(OTHER, OURS), Signatures.merge(FP, List.of(OTHER), OURS, KEY.publicKey()));
    assertThrows(
        IllegalArgumentException.class,
        () -> Signatures.merge(FP, List.of(), OTHER, KEY.publicKey()));
  }

  @Test
  void keyNameQueries() {
    List<NixSignature> sigs = List.of(OTHER, OFFICIAL);
    assertTrue(Signatures.hasKeyName(sigs, "other"));
    assertFalse(Signatures.hasKeyName(sigs, "test-1"));
    assertFalse(Signatures.hasKeyName(sigs, "othe"));
    Pattern official = Pattern.compile("^cache\\.nixos\\.org-.*$");
    assertTrue(Signatures.anyKeyNameMatches(sigs, official));
    assertFalse(Signatures.anyKeyNameMatches(List.of(OTHER, OURS), official));
    assertFalse(Signatures.anyKeyNameMatches(List.of(), official));
    // Unanchored patterns match anywhere, like Rust's Regex::is_match.
    assertTrue(Signatures.anyKeyNameMatches(List.of(OURS), Pattern.compile("st-")));
  }
}
