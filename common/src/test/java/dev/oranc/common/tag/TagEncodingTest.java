package dev.oranc.common.tag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.error.FormatException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class TagEncodingTest {

  static Stream<Arguments> vectors() throws IOException {
    try (InputStream in = TagEncodingTest.class.getResourceAsStream("/vectors/tag-encoding.json")) {
      List<Object> all = JSON.std.listFrom(in);
      return all.stream().map(o -> Arguments.of(((Map<?, ?>) o).get("key"), o));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void encodesAndDecodesEveryVector(String key, Map<String, Object> vector) {
    String custom = (String) vector.get("custom");
    String base32 = (String) vector.get("base32-dnssec");

    assertEquals(custom, TagEncoding.CUSTOM.encode(key));
    assertEquals(base32, TagEncoding.BASE32_DNSSEC.encode(key));
    assertEquals(key, TagEncoding.CUSTOM.decode(custom));
    assertEquals(key, TagEncoding.BASE32_DNSSEC.decode(base32));

    assertEquals(vector.get("custom_fits_tag"), fits(custom));
    assertEquals(vector.get("base32_fits_tag"), fits(base32));
  }

  private static boolean fits(String tag) {
    try {
      Tag.of(tag);
      return true;
    } catch (FormatException e) {
      return false;
    }
  }

  @Test
  void realisationKeyOfTheSeedExample() {
    String key =
        "realisations/sha256:67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1!libgcc.doi";
    assertEquals(
        "realisations_L_sha256_W_67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1_x_libgcc.doi",
        TagCodec.DEFAULT.writeTag(key).value());
  }

  @ParameterizedTest
  @CsvSource({
    "/, _L_",
    ":, _W_",
    "!, _x_",
    "_, _1v_",
    "--, _J_-",
    "a-, a-",
    ".a, _K_a",
    "😀, _vo0_",
  })
  void specExamples(String key, String tag) {
    assertEquals(tag, TagEncoding.CUSTOM.encode(key));
    assertEquals(key, TagEncoding.CUSTOM.decode(tag));
  }

  @Test
  void nulIsAnEmptyEscape() {
    assertEquals("a__b", TagEncoding.CUSTOM.encode("a\0b"));
    assertEquals("a\0b", TagEncoding.CUSTOM.decode("a__b"));
  }

  @Test
  void codePointsNotUtf16Units() {
    // One escape for a supplementary character, not one per surrogate.
    String key = "\uD83D\uDE00";
    String tag = TagEncoding.CUSTOM.encode(key);
    assertEquals("_vo0_", tag);
    assertEquals(Integer.parseInt("1F600", 16), (31 * 64 + 24) * 64 + 0);
  }

  @Test
  void randomUnicodeRoundTrips() {
    Random random = new Random(42);
    for (int n = 0; n < 5_000; n++) {
      StringBuilder key = new StringBuilder();
      int length = 1 + random.nextInt(12);
      for (int i = 0; i < length; i++) {
        int cp;
        switch (random.nextInt(4)) {
          case 0 -> cp = 0x20 + random.nextInt(0x5f);
          case 1 -> cp = random.nextInt(0x800);
          case 2 -> cp = 0x10000 + random.nextInt(0x100000);
          default -> {
            cp = random.nextInt(0xFFFF);
            if (Character.isSurrogate((char) cp)) {
              cp = 'x';
            }
          }
        }
        key.appendCodePoint(cp);
      }
      String k = key.toString();
      for (TagEncoding encoding : TagEncoding.values()) {
        String tag = encoding.encode(k);
        assertEquals(k, encoding.decode(tag), () -> encoding + " of " + k);
        if (tag.length() <= Tag.MAX_LENGTH) {
          Tag.of(tag); // always within the tag alphabet
        }
      }
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "abc_L             | character 4  | not closed",
        "_L                | character 1  | not closed",
        "a_*_              | character 3  | '*' is not a base-64 digit",
        "_0L_              | character 2  | leading zero",
        "_1x_              | character 1  | spells 'a'",
        "x_J_              | character 2  | written as itself",
        "_dw0_             | character 1  | surrogate",
        "_10000_           | character 1  | beyond the last Unicode code point",
        "-abc              | character 1  | cannot start with a literal '-'",
        ".abc              | character 1  | cannot start with a literal '.'",
        "a/b               | character 2  | '/' cannot appear in a tag",
        "a b               | character 2  | U+0020 cannot appear in a tag",
        "aé                | character 2  | U+00E9 cannot appear in a tag",
      })
  void customRejectsMalformedTags(String tag, String location, String problem) {
    FormatException e = assertThrows(FormatException.class, () -> TagEncoding.CUSTOM.decode(tag));
    assertEquals(location, e.location());
    assertTrue(e.problem().contains(problem), e.getMessage());
    assertTrue(e.getMessage().contains("'" + tag + "'"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "c4g6x  | 'x' is not a base32hex digit",
        "c      | cannot come from whole bytes",
        "c4g    | cannot come from whole bytes",
        "c4g65  | non-zero trailing bits",
        "vvvg   | not UTF-8",
      })
  void base32RejectsMalformedTags(String tag, String problem) {
    FormatException e =
        assertThrows(FormatException.class, () -> TagEncoding.BASE32_DNSSEC.decode(tag));
    assertTrue(e.getMessage().contains(problem), e.getMessage());
  }

  @Test
  void base32DecodesEitherCase() {
    assertEquals("a b", TagEncoding.BASE32_DNSSEC.decode("C4G64"));
  }

  @Test
  void byNameListsAcceptedValues() {
    assertEquals(TagEncoding.BASE32_DNSSEC, TagEncoding.byName("base32-dnssec"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TagEncoding.byName("base64"));
    assertTrue(e.getMessage().contains("custom, base32-dnssec"), e.getMessage());
  }
}
