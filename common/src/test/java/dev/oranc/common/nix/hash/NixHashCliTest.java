package dev.oranc.common.nix.hash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.oranc.common.error.FormatException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Our conversions against {@code nix hash to-base16/to-base32/to-base64/to-sri} of Nix 2.8. */
class NixHashCliTest {

  private static List<NixHash> randomHashes(HashAlgorithm algorithm, int count) {
    Random random = new Random(1000 + algorithm.ordinal());
    List<NixHash> hashes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] bytes = new byte[algorithm.size()];
      random.nextBytes(bytes);
      hashes.add(NixHash.of(algorithm, bytes));
    }
    // The edges of the bit string: all zeros and all ones.
    hashes.add(NixHash.of(algorithm, new byte[algorithm.size()]));
    byte[] ones = new byte[algorithm.size()];
    Arrays.fill(ones, (byte) 0xff);
    hashes.add(NixHash.of(algorithm, ones));
    return hashes;
  }

  private static List<String> nixConvert(String command, List<String> inputs) {
    List<String> args = new ArrayList<>(List.of("hash", command));
    args.addAll(inputs);
    return List.of(NixCli.nix(args.toArray(String[]::new)).split("\n"));
  }

  @ParameterizedTest
  @EnumSource(HashAlgorithm.class)
  void everyFormAgreesWithNix(HashAlgorithm algorithm) {
    List<NixHash> hashes = randomHashes(algorithm, 40);
    List<String> base16 = hashes.stream().map(NixHash::toBase16).toList();
    List<String> nix32 = hashes.stream().map(NixHash::toNix32).toList();

    // Nix encodes what we decode from base-16 ...
    assertEquals(hashes.stream().map(NixHash::bareNix32).toList(), nixConvert("to-base32", base16));
    assertEquals(
        hashes.stream().map(NixHash::bareBase64).toList(), nixConvert("to-base64", base16));
    assertEquals(hashes.stream().map(NixHash::toSri).toList(), nixConvert("to-sri", base16));
    // ... and decodes what we encode in nix32 and SRI.
    assertEquals(hashes.stream().map(NixHash::bareBase16).toList(), nixConvert("to-base16", nix32));
    assertEquals(
        hashes.stream().map(NixHash::bareBase16).toList(),
        nixConvert("to-base16", hashes.stream().map(NixHash::toSri).toList()));
  }

  @Test
  void nixAndWeRejectTheSameExcessBits() {
    String accepted = "sha256:1" + "z".repeat(51);
    String rejected = "sha256:2" + "0".repeat(51);
    assertEquals(
        NixHash.parse(accepted).bareBase16(), nixConvert("to-base16", List.of(accepted)).get(0));
    assertNotEquals(0, NixCli.nixResult(null, "hash", "to-base16", rejected).exitCode());
    assertThrows(FormatException.class, () -> NixHash.parse(rejected));
  }
}
