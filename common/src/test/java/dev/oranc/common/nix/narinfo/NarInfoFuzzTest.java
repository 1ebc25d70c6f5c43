package dev.oranc.common.nix.narinfo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.oranc.common.error.FormatException;
import dev.oranc.testkit.SeedCorpus;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of the narinfo parser with any bytes. Invariants: {@link NarInfo#parse(byte[])} either
 * refuses with a {@link FormatException} (never another exception type), or gives a narinfo whose
 * {@link NarInfo#format()} parses back to an equal narinfo and formats to the same text (what we
 * write is what we read), and whose fingerprint can be computed (what signing and verifying do).
 *
 * <p>Seeds: the narinfos Nix 2.8 wrote (vectors/nix-signing.json) and variants with a CA, an extra
 * field, no Compression, CRLF line ends.
 */
class NarInfoFuzzTest {

  @FuzzTest(maxDuration = "5m")
  void parsedNarinfos(byte[] input) {
    NarInfo info;
    try {
      info = NarInfo.parse(input);
    } catch (FormatException refused) {
      return;
    }
    String text = info.format();
    NarInfo again = NarInfo.parse(text);
    assertEquals(info, again, "format then parse changed the narinfo");
    assertEquals(text, again.format());
    assertArrayEquals(info.formatBytes(), again.formatBytes());
    info.fingerprint().text();
  }

  @Test
  void seedMutations() {
    SeedCorpus.of(NarInfoFuzzTest.class, "parsedNarinfos")
        .sweep(20240603, 5_000, this::parsedNarinfos);
  }
}
