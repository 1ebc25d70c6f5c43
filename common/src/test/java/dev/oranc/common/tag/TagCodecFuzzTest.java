package dev.oranc.common.tag;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 *   <li>{@link TagCodec}'s write and read tags are valid {@link Tag}s or a {@link FormatException}.
 * </ul>
 *
 * Regression mode (the normal suite) runs the seeds in {@code TagCodecFuzzTestInputs/keysAndTags};
 * {@link #seedMutations()} adds a bounded seeded sweep; docs/RELIABILITY.md has the long run.
 */
class TagCodecFuzzTest {

  private static final Pattern ALPHABET = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]*");
  private static final List<TagCodec> CODECS = List.of(
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
        assertTrue(ALPHABET.matcher(encoded).matches(), e + " encoded '" + key + "' as '" + encoded + "'");
        assertEquals(key, e.decode(encoded), e + " round trip");
      }
      String decoded;
      try {
        decoded = e.decode(tag);
      } catch (FormatException refused) {
        continue;
      }
      String canonical = e == TagEncoding.BASE32_DNSSEC ? tag.toLowerCase(Locale.ROOT) : tag;
      assertEquals(canonical, e.encode(decoded), e + " decoded '" + tag + "' to a key that encodes otherwise");
    }
    for (TagCodec codec : CODECS) {
      try {
        Tag written = codec.writeTag(key);
        assertEquals(written, Tag.of(written.value()));
        assertEquals(written, codec.readTags(key).get(0), "a read tries the written tag first");
      } catch (FormatException refused) {
        // empty, or too long for a tag
      }
      try {
        for (Tag t : codec.readTags(key)) {
          assertEquals(t, Tag.of(t.value()));
        }
      } catch (FormatException refused) {
        // no encoding gives a tag
      }
      try {
        codec.decode(tag);
      } catch (FormatException refused) {
        // no encoding decodes it
      }
    }
  }

  @Test
  void seedMutations() {
    SeedCorpus.of(TagCodecFuzzTest.class, "keysAndTags").sweep(20240601, 5_000, this::keysAndTags);
  }
}
