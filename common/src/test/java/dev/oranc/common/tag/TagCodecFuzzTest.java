package dev.oranc.common.tag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.oranc.common.error.FormatException;
import dev.oranc.testkit.SeedCorpus;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of the tag codec (SPEC §2). The input's text (UTF-8, lenient) is split at its first line
 * break into a key and a would-be tag. Invariants:
 *
 * <ul>
 *   <li>every key encodes, in every encoding, to the tag alphabet, and decodes back to itself;
 *   <li>a would-be tag either decodes, and then re-encodes to itself (decoding is strict: one key
 *       per tag; base32-dnssec reads either case and writes lower case), or is refused with a
 *       {@link FormatException} — nothing else is ever thrown;
 *   <li>{@link TagCodec}'s write and read tags are valid {@link Tag}s for every non-empty key: the
 *       encoding's tag when it fits in 128 characters, else the key's hashed tag;
 *   <li>no encoding's tag of a key, and no tag an encoding decodes, starts with {@code _0}, the
 *       start of every hashed tag (the design note's proof), and {@link TagCodec#decode} refuses
 *       every hashed tag.
 * </ul>
 *
 * Regression mode (the normal suite) runs the seeds in {@code TagCodecFuzzTestInputs/keysAndTags};
 * {@link #seedMutations()} adds a bounded seeded sweep; docs/RELIABILITY.md has the long run.
 */
class TagCodecFuzzTest {

  private static final Pattern ALPHABET = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]*");
  private static final List<TagCodec> CODECS =
      List.of(
          TagCodec.DEFAULT,
          new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.BASE32_DNSSEC)),
          new TagCodec(TagEncoding.BASE32_DNSSEC, List.of(TagEncoding.CUSTOM)));

  @FuzzTest(maxDuration = "5m")
  void keysAndTags(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    int nl = text.indexOf('\n');
    String key = nl < 0 ? text : text.substring(0, nl);
    String tag = nl < 0 ? text : text.substring(nl + 1);

    for (TagEncoding e : TagEncoding.values()) {
      if (!key.isEmpty()) {
        String encoded = e.encode(key);
        assertTrue(
            ALPHABET.matcher(encoded).matches(), e + " encoded '" + key + "' as '" + encoded + "'");
        assertEquals(key, e.decode(encoded), e + " round trip");
        assertFalse(
            encoded.startsWith("_0"), e + " encoded '" + key + "' like a hashed tag: " + encoded);
      }
      String decoded;
      try {
        decoded = e.decode(tag);
      } catch (FormatException refused) {
        continue;
      }
      assertFalse(
          tag.startsWith("_0"), e + " decoded '" + tag + "', which starts like a hashed tag");
      String canonical = e == TagEncoding.BASE32_DNSSEC ? tag.toLowerCase(Locale.ROOT) : tag;
      assertEquals(
          canonical,
          e.encode(decoded),
          e + " decoded '" + tag + "' to a key that encodes otherwise");
    }
    for (TagCodec codec : CODECS) {
      if (key.isEmpty()) {
        assertThrows(FormatException.class, () -> codec.writeTag(key));
        assertThrows(FormatException.class, () -> codec.readTags(key));
      } else {
        Tag written = codec.writeTag(key);
        assertEquals(written, Tag.of(written.value()));
        String encoded = codec.main().encode(key);
        assertEquals(
            encoded.length() > Tag.MAX_LENGTH ? TagCodec.hashedTag(key) : Tag.of(encoded), written);
        List<Tag> read = codec.readTags(key);
        assertEquals(written, read.get(0), "a read tries the written tag first");
        for (Tag t : read) {
          assertEquals(t, Tag.of(t.value()));
        }
      }
      try {
        codec.decode(tag);
      } catch (FormatException refused) {
        // no encoding decodes it
      }
    }
    String hashed = TagCodec.hashedTag(key).value();
    assertTrue(TagCodec.isHashed(hashed));
    for (TagCodec codec : CODECS) {
      assertThrows(FormatException.class, () -> codec.decode(hashed));
    }
  }

  @Test
  void seedMutations() {
    SeedCorpus.of(TagCodecFuzzTest.class, "keysAndTags").sweep(20240601, 5_000, this::keysAndTags);
  }
}
