package dev.oranc.bench;

import dev.oranc.common.nix.hash.Nix32;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.store.StorePath;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * Values shaped like the real ones (a store path with a dozen references, a signed narinfo, cache
 * keys of each kind), made from a fixed seed so every run measures the same inputs.
 */
final class Samples {

  /** {@code <hash>.narinfo}: the most frequent key, needs no escape. */
  static final String NARINFO_KEY = "0vz5ggyk0ij8fj9hmz1svwh1i8pmhwqp.narinfo";

  /** {@code nar/<nar hash>.nar.zst}: one {@code /} to escape. */
  static final String NAR_KEY = "nar/1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0.nar.zst";

  /**
   * A realisation key ({@code realisations/<drv hash>!<output>.doi}) with a long output name:
   * several escapes, and 80 UTF-8 bytes, so base32-dnssec's tag is the full 128 characters.
   */
  static final String REALISATION_KEY =
      "realisations/sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0!out.doi";

  private Samples() {}

  static String key(String kind) {
    return switch (kind) {
      case "narinfo" -> NARINFO_KEY;
      case "nar" -> NAR_KEY;
      case "realisation" -> REALISATION_KEY;
      default -> throw new IllegalArgumentException("key kind: " + kind);
    };
  }

  static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  static StorePath storePath(Random random, String name) {
    return StorePath.of(StorePath.DEFAULT_STORE_DIR, Nix32.encode(bytes(random, 20)), name);
  }

  /** A deterministic signing key named {@code bench-1}. */
  static SecretKey secretKey() {
    try {
      SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
      random.setSeed(42);
      return SecretKey.generate("bench-1", random);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * A narinfo as oranc push writes it for a library with {@code referenceCount} references: file
   * hash and size, a deriver, one signature. About 1 KiB of text with 12 references.
   */
  static NarInfo narInfo(int referenceCount) {
    Random random = new Random(42);
    StorePath path = storePath(random, "openssl-3.0.13");
    List<StorePath> references = new ArrayList<>();
    references.add(path);
    for (int i = 1; i < referenceCount; i++) {
      references.add(storePath(random, "dependency-" + i + "-1.2.3"));
    }
    NixHash narHash = NixHash.sha256(bytes(random, 32));
    NarInfo unsigned =
        NarInfo.of(
                path,
                "nar/" + Nix32.encode(bytes(random, 32)) + ".nar.zst",
                "zstd",
                narHash,
                6_563_272,
                references)
            .withFile(NixHash.sha256(bytes(random, 32)), 1_914_561)
            .withDeriver(Optional.of(storePath(random, "openssl-3.0.13.drv")));
    return unsigned.withSigs(List.of(secretKey().sign(unsigned.fingerprint())));
  }
}
