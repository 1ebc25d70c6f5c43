package dev.oranc.common.tag;

import dev.oranc.common.error.FormatException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Keys to tags with a main encoding and read fallbacks (SPEC §2, {@code --tag-encoding} and {@code
 * --fallback-encodings}), and the hashed tag of a key too long for either.
 *
 * <h2>Design note: long keys</h2>
 *
 * OCI tags stop at 128 characters; Nix's keys do not ({@code log/<32>-<name>.drv} reaches 248,
 * realisations and build traces overflow too, and under {@code base32-dnssec} every realisation
 * does). A key whose tag in an encoding would be longer than 128 characters is stored, in that
 * encoding, under its <em>hashed tag</em>:
 *
 * <pre>
 * _0sha256-&lt;SHA-256 of the key's UTF-8 bytes, 64 lower-case hex digits&gt;     (73 characters)
 * </pre>
 *
 * The tag cannot be turned back into the key; the key is in the manifest's annotations ({@code
 * com.linyinfeng.oranc.key}, {@code org.opencontainers.image.description}), as for every key, and a
 * read of a hashed tag checks that annotation against the key it asked for, so even a (practically
 * impossible) SHA-256 collision, or a manifest planted under the tag, answers an error and never
 * another key's bytes ({@code ImageLayout.read}).
 *
 * <p><b>No short key's tag is a hashed tag.</b> Both encodings are fixed (the Rust layout), so the
 * proof is from their shape. {@link TagEncoding#BASE32_DNSSEC} writes only {@code 0-9a-v}: never
 * {@code _}. {@link TagEncoding#CUSTOM} writes {@code _} only as the two delimiters of an escape
 * {@code _<digits>_} and never copies a literal {@code _} (it is itself escaped as {@code _1v_});
 * so a custom tag that starts with {@code _} starts with an escape, whose digits have no leading
 * zero (the empty escape {@code __} is U+0000), hence its second character is never {@code 0}. A
 * tag starting {@code _0} is therefore produced by neither encoding, and both decoders refuse it (a
 * leading zero digit; a character outside base32hex). {@code TagCodecTest} and {@code
 * TagCodecFuzzTest} check this for every key and would-be tag they see.
 *
 * <p><b>The hash input is the key alone, not the encoding's name.</b> The hashed tag names a key,
 * not a way of spelling it: a long key has the same tag whichever encoding was the main one when it
 * was written, so a read with fallbacks costs one manifest request for it rather than one per
 * encoding, and changing {@code --tag-encoding} keeps long keys readable. Nothing is gained by
 * separating them: which key a manifest holds is settled by its annotation, not by its tag. Plain
 * SHA-256 of the UTF-8 key lets anyone compute a tag with {@code printf %s "$key" | sha256sum}; the
 * {@code sha256} in the tag names the scheme, so another can be added without ambiguity.
 *
 * <p>The Rust oranc has no hashed tags: it can neither read nor write these keys.
 *
 * <h2>Reads and writes</h2>
 *
 * A write uses the main encoding only. A read tries the main encoding, then each fallback, each
 * giving its tag or, when that is too long, the hashed tag (the same for all of them, tried once).
 * Only the empty key has no tag.
 */
public record TagCodec(TagEncoding main, List<TagEncoding> fallbacks) {

  public static final TagCodec DEFAULT = new TagCodec(TagEncoding.CUSTOM, List.of());

  /** What every hashed tag starts with: a start neither encoding can write (see above). */
  public static final String HASHED_PREFIX = "_0sha256-";

  /** The length of every hashed tag: the prefix and 64 hex digits. */
  public static final int HASHED_LENGTH = HASHED_PREFIX.length() + 64;

  public TagCodec {
    Objects.requireNonNull(main, "main");
    fallbacks = List.copyOf(fallbacks);
  }

  /**
   * The tag a key is written under: its main encoding, or its {@linkplain #hashedTag hashed tag}
   * when that would exceed 128 characters.
   *
   * @throws FormatException when the key is empty
   */
  public Tag writeTag(String key) {
    return toTag(key, main);
  }

  /**
   * The tags a key may be stored under, in the order to try them: main encoding first, then the
   * fallbacks, without duplicates (a key too long for several encodings has one hashed tag).
   *
   * @throws FormatException when the key is empty
   */
  public List<Tag> readTags(String key) {
    if (fallbacks.isEmpty()) {
      return List.of(toTag(key, main));
    }
    Set<String> seen = new LinkedHashSet<>();
    List<Tag> tags = new ArrayList<>(1 + fallbacks.size());
    for (TagEncoding encoding : encodings()) {
      Tag tag = toTag(key, encoding);
      if (seen.add(tag.value())) {
        tags.add(tag);
      }
    }
    return List.copyOf(tags);
  }

  /**
   * The hashed tag of a key: {@value #HASHED_PREFIX} and the SHA-256 of its UTF-8 bytes in
   * lower-case hex. Used for a key whose tag would exceed 128 characters; defined for any key.
   */
  public static Tag hashedTag(String key) {
    byte[] hash;
    try {
      hash = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    StringBuilder tag = new StringBuilder(HASHED_LENGTH).append(HASHED_PREFIX);
    for (byte b : hash) {
      tag.append(HEX[(b >> 4) & 15]).append(HEX[b & 15]);
    }
    return new Tag(tag.toString());
  }

  /**
   * Whether {@code tag} has the shape of a hashed tag ({@value #HASHED_PREFIX} and 64 lower-case
   * hex digits). No encoding's tag of a key starts with {@code _0}, so this never mistakes one.
   */
  public static boolean isHashed(String tag) {
    if (tag.length() != HASHED_LENGTH || !tag.startsWith(HASHED_PREFIX)) {
      return false;
    }
    for (int i = HASHED_PREFIX.length(); i < tag.length(); i++) {
      char c = tag.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  /** As {@link #isHashed(String)}. */
  public static boolean isHashed(Tag tag) {
    return isHashed(tag.value());
  }

  /**
   * The key a tag stands for, trying the main encoding, then each fallback.
   *
   * @throws FormatException with every encoding's reason when none decodes the tag, or saying that
   *     it is a hashed tag, whose key is only in its manifest
   */
  public String decode(String tag) {
    if (isHashed(tag)) {
      throw new FormatException(
          "tag '" + tag + "'",
          "",
          "is the hashed tag of a key too long for a tag; the key is not in the tag but in the"
              + " manifest's com.linyinfeng.oranc.key annotation");
    }
    List<String> reasons = new ArrayList<>();
    for (TagEncoding encoding : encodings()) {
      try {
        return encoding.decode(tag);
      } catch (FormatException e) {
        reasons.add(
            encoding.cliName()
                + ": "
                + e.problem()
                + (e.location().isEmpty() ? "" : " at " + e.location()));
      }
    }
    throw new FormatException(
        "tag '" + tag + "'", "", "cannot be decoded (" + String.join("; ", reasons) + ")");
  }

  /** The main encoding followed by the fallbacks, without repeats. */
  public List<TagEncoding> encodings() {
    Set<TagEncoding> all = new LinkedHashSet<>();
    all.add(main);
    all.addAll(fallbacks);
    return List.copyOf(all);
  }

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private static Tag toTag(String key, TagEncoding encoding) {
    if (key.isEmpty()) {
      throw new FormatException("key ''", "", "a cache key cannot be empty");
    }
    String encoded = encoding.encode(key);
    return encoded.length() > Tag.MAX_LENGTH ? hashedTag(key) : new Tag(encoded);
  }
}
