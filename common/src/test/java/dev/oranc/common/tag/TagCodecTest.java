package dev.oranc.common.tag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TagCodecTest {

  private static final String REALISATION =
      "realisations/sha256:67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1!libgcc.doi";

  private final TagCodec withFallback =
      new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.BASE32_DNSSEC));

  @Test
  void readTriesMainThenFallbacks() {
    assertEquals(List.of(Tag.of("a_w_b"), Tag.of("c4g64")), withFallback.readTags("a b"));
  }

  @Test
  void readTriesTheHashedTagForAFallbackTooLongForItsEncoding() {
    // base32 of the realisation key is 152 characters: a writer with base32 as its main encoding
    // stored it under the hashed tag.
    assertEquals(
        List.of(Tag.of(TagEncoding.CUSTOM.encode(REALISATION)), TagCodec.hashedTag(REALISATION)),
        withFallback.readTags(REALISATION));
  }

  @Test
  void readMergesIdenticalCandidates() {
    TagCodec twice = new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.CUSTOM));
    assertEquals(List.of(Tag.of("nix-cache-info")), twice.readTags("nix-cache-info"));
  }

  @Test
  void writeUsesMainOnlyAndHashesOverLongTags() {
    // base32 of the realisation key is 152 characters: written under its hashed tag.
    TagCodec base32 = new TagCodec(TagEncoding.BASE32_DNSSEC, List.of(TagEncoding.CUSTOM));
    assertEquals(TagCodec.hashedTag(REALISATION), base32.writeTag(REALISATION));
    assertEquals(
        List.of(TagCodec.hashedTag(REALISATION), Tag.of(TagEncoding.CUSTOM.encode(REALISATION))),
        base32.readTags(REALISATION));
  }

  @Test
  void aKeyTooLongForEveryEncodingHasOneHashedTag() {
    String key = "x".repeat(129);
    assertEquals(List.of(TagCodec.hashedTag(key)), withFallback.readTags(key));
    assertEquals(TagCodec.hashedTag(key), withFallback.writeTag(key));
  }

  /**
   * A known answer, computed outside Java: {@code printf
   * 'log/0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5-%s.drv' "$(head -c 207 /dev/zero | tr '\0' a)" |
   * sha256sum} gives {@code da1dc3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545f}. The
   * key is 248 characters, the longest {@code log/} key Nix makes (a derivation name of 211 with
   * {@code .drv}).
   */
  @Test
  void hashedTagKnownAnswer() {
    String key = "log/0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5-" + "a".repeat(207) + ".drv";
    assertEquals(248, key.length());
    Tag expected =
        Tag.of("_0sha256-da1dc3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545f");
    assertEquals(expected, TagCodec.DEFAULT.writeTag(key));
    assertEquals(expected, new TagCodec(TagEncoding.BASE32_DNSSEC, List.of()).writeTag(key));
    assertEquals(List.of(expected), withFallback.readTags(key));
    assertEquals(73, TagCodec.HASHED_LENGTH);
    assertEquals(TagCodec.HASHED_LENGTH, expected.value().length());
  }

  /** custom: letters are copied (1 character), '+' is _H_ (3), '_' is _1v_ (4). */
  @ParameterizedTest
  @CsvSource({
    "128, ''",
    "125, +",
    "124, _",
    "118, +_+",
  })
  void customAtExactly128KeepsItsTagAndAt129IsHashed(int letters, String tail) {
    String fits = "a".repeat(letters) + tail;
    assertEquals(128, TagEncoding.CUSTOM.encode(fits).length());
    assertEquals(Tag.of(TagEncoding.CUSTOM.encode(fits)), TagCodec.DEFAULT.writeTag(fits));
    assertFalse(TagCodec.isHashed(TagCodec.DEFAULT.writeTag(fits)));

    String over = "a" + fits;
    assertEquals(129, TagEncoding.CUSTOM.encode(over).length());
    assertEquals(TagCodec.hashedTag(over), TagCodec.DEFAULT.writeTag(over));
    assertTrue(TagCodec.isHashed(TagCodec.DEFAULT.writeTag(over)));
  }

  /** base32-dnssec: 80 bytes are 128 characters; 81 bytes are 130 (129 cannot come from bytes). */
  @Test
  void base32AtExactly128KeepsItsTagAndBeyondIsHashed() {
    TagCodec base32 = new TagCodec(TagEncoding.BASE32_DNSSEC, List.of());
    String fits = "a".repeat(78) + "+_";
    assertEquals(128, TagEncoding.BASE32_DNSSEC.encode(fits).length());
    assertEquals(Tag.of(TagEncoding.BASE32_DNSSEC.encode(fits)), base32.writeTag(fits));
    String over = "a" + fits;
    assertEquals(130, TagEncoding.BASE32_DNSSEC.encode(over).length());
    assertEquals(TagCodec.hashedTag(over), base32.writeTag(over));
    // Characters count by their UTF-8 bytes: 40 'é' are 80 bytes.
    assertEquals(128, base32.writeTag("é".repeat(40)).value().length());
    assertTrue(TagCodec.isHashed(base32.writeTag("é".repeat(40) + "a")));
  }

  /**
   * The design note's proof, by example: a custom tag that starts with '_' starts with an escape,
   * whose first digit is never 0; base32 never writes '_'; so neither starts with "_0".
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "_", "__", "\u0000", "\u0000a", "-", ".", "/", "_0", "@", "Ax", "0", "\u1000", "😀",
        "\uFFFF"
      })
  void noEncodingsTagOfAShortKeyStartsLikeAHashedTag(String key) {
    for (TagEncoding e : TagEncoding.values()) {
      String tag = e.encode(key);
      assertFalse(tag.startsWith("_0"), e + " wrote '" + tag + "' for '" + key + "'");
      assertFalse(TagCodec.isHashed(tag));
    }
  }

  @Test
  void aHashedTagDecodesInNoEncoding() {
    String hashed = TagCodec.hashedTag("anything").value();
    for (TagEncoding e : TagEncoding.values()) {
      assertThrows(FormatException.class, () -> e.decode(hashed), e.toString());
    }
    FormatException e = assertThrows(FormatException.class, () -> withFallback.decode(hashed));
    assertTrue(e.getMessage().contains("hashed tag"), e.getMessage());
    assertTrue(e.getMessage().contains("com.linyinfeng.oranc.key"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "_0sha256-da1dc3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545",
        "_0sha256-da1dc3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545ff",
        "_0sha256-DA1DC3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545f",
        "_0sha256-ga1dc3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545f",
        "_0sha512-da1dc3185396abe698da5add4d4a4851fdadb1c9609a871a556faeb4d0ab545f",
        "nix-cache-info",
      })
  void onlyTheExactShapeIsAHashedTag(String tag) {
    assertFalse(TagCodec.isHashed(tag));
  }

  @Test
  void emptyKeyIsRejected() {
    assertThrows(FormatException.class, () -> TagCodec.DEFAULT.writeTag(""));
    assertThrows(FormatException.class, () -> withFallback.readTags(""));
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
    assertEquals(
        "character 3", assertThrows(FormatException.class, () -> Tag.of("ab/")).location());
    Tag.of("_" + "a".repeat(127));
    assertThrows(FormatException.class, () -> Tag.of("_" + "a".repeat(128)));
  }
}
