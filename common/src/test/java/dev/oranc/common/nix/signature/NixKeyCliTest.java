package dev.oranc.common.nix.signature;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oranc.common.nix.hash.NixCli;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** Keys move between Nix 2.8 and us in both directions. */
class NixKeyCliTest {

  @Test
  void keysNixGeneratesWorkHere() {
    for (int i = 0; i < 3; i++) {
      String secret = NixCli.nix("key", "generate-secret", "--key-name", "nix-made-" + i);
      String expectedPublic =
          NixCli.nixWithInput(secret, "key", "convert-secret-to-public").strip();
      SecretKey key = SecretKey.parse(secret);
      assertEquals("nix-made-" + i, key.name());
      assertEquals(expectedPublic, key.publicKey().toString());
      assertEquals(secret.strip(), key.toNixText());
    }
  }

  @Test
  void keysWeGenerateWorkInNix() {
    SecretKey key = SecretKey.generate("oranc-made", new SecureRandom());
    String nixPublic =
        NixCli.nixWithInput(key.toNixText(), "key", "convert-secret-to-public").strip();
    assertEquals(key.publicKey().toString(), nixPublic);
  }
}
