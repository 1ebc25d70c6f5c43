package dev.oranc.common.tag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import java.util.List;
import org.junit.jupiter.api.Test;

class TagCodecTest {

  private static final String REALISATION =
      "realisations/sha256:67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1!libgcc.doi";

  private final TagCodec withFallback =
      new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.BASE32_DNSSEC));

  @Test
  void readTriesMainThenFallbacks() {
    assertEquals(
        List.of(Tag.of("a_w_b"), Tag.of("c4g64")), withFallback.readTags("a b"));
  }

  @Test
  void readLeavesOutFallbacksThatCannotBeTags() {
    // base32 of the realisation key is 152 characters: it cannot exist in a registry.
    assertEquals(
        List.of(Tag.of(TagEncoding.CUSTOM.encode(REALISATION))), withFallback.readTags(REALISATION));
  }

  @Test
  void readMergesIdenticalCandidates() {
    TagCodec twice = new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.CUSTOM));
    assertEquals(List.of(Tag.of("nix-cache-info")), twice.readTags("nix-cache-info"));
  }

  @Test
  void writeUsesMainOnlyAndRejectsOverLongTags() {
    TagCodec base32 = new TagCodec(TagEncoding.BASE32_DNSSEC, List.of(TagEncoding.CUSTOM));
    FormatException e = assertThrows(FormatException.class, () -> base32.writeTag(REALISATION));
    assertTrue(e.getMessage().contains("152 characters long"), e.getMessage());
    assertTrue(e.getMessage().contains("at most 128"), e.getMessage());
    assertTrue(e.getMessage().contains(REALISATION), e.getMessage());
  }

  @Test
  void readFailsWhenNoCandidateFits() {
    String key = "x".repeat(129);
    FormatException e = assertThrows(FormatException.class, () -> withFallback.readTags(key));
    assertTrue(e.getMessage().contains("129 characters long"), e.getMessage());
  }

  @Test
  void emptyKeyIsRejected() {
    assertThrows(FormatException.class, () -> TagCodec.DEFAULT.writeTag(""));
  }

  @Test
  void decodeTriesEveryEncodingAndReportsEach() {
    // Every base32hex string is also a valid custom tag, so a fallback decode only shows with
    // base32 as the main encoding.
    TagCodec base32First = new TagCodec(TagEncoding.BASE32_DNSSEC, List.of(TagEncoding.CUSTOM));
    assertEquals("a b", base32First.decode("c4g64"));
    assertEquals("a b", base32First.decode("a_w_b"));
    FormatException e = assertThrows(FormatException.class, () -> withFallback.decode("-x"));
    assertTrue(e.getMessage().contains("custom:"), e.getMessage());
    assertTrue(e.getMessage().contains("base32-dnssec:"), e.getMessage());
  }

  @Test
  void plainKeysAreNotCopied() {
    String key = "0r2v93mqaf9d2zyqi8pgmyzmf879753y.narinfo";
    assertSame(key, TagEncoding.CUSTOM.encode(key));
  }

  @Test
  void tagValidation() {
    assertEquals("character 1", assertThrows(FormatException.class, () -> Tag.of(".a")).location());
    assertEquals("character 3", assertThrows(FormatException.class, () -> Tag.of("ab/")).location());
    Tag.of("_" + "a".repeat(127));
    assertThrows(FormatException.class, () -> Tag.of("_" + "a".repeat(128)));
  }
}
