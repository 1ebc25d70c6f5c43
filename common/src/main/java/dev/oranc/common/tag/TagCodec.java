package dev.oranc.common.tag;

import dev.oranc.common.error.FormatException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Keys to tags with a main encoding and read fallbacks (SPEC §2, {@code --tag-encoding} and
 * {@code --fallback-encodings}).
 *
 * <p>A write uses the main encoding only, and an over-long tag is an error before any request is
 * sent. A read tries the main encoding, then each fallback; a candidate that is too long to be a
 * tag cannot exist in a registry, so it is left out, and only when no candidate fits is that an
 * error.
 */
public record TagCodec(TagEncoding main, List<TagEncoding> fallbacks) {

  public static final TagCodec DEFAULT = new TagCodec(TagEncoding.CUSTOM, List.of());

  public TagCodec {
    Objects.requireNonNull(main, "main");
    fallbacks = List.copyOf(fallbacks);
  }

  /**
   * The tag a key is written under.
   *
   * @throws FormatException when the key is empty or its tag would exceed 128 characters
   */
  public Tag writeTag(String key) {
    return toTag(key, main);
  }

  /**
   * The tags a key may be stored under, in the order to try them: main encoding first, then the
   * fallbacks, without duplicates.
   *
   * @throws FormatException when no encoding gives a valid tag
   */
  public List<Tag> readTags(String key) {
    if (fallbacks.isEmpty()) {
      return List.of(toTag(key, main));
    }
    Set<String> seen = new LinkedHashSet<>();
    List<Tag> tags = new ArrayList<>(1 + fallbacks.size());
    FormatException first = null;
    for (TagEncoding encoding : encodings()) {
      try {
        Tag tag = toTag(key, encoding);
        if (seen.add(tag.value())) {
          tags.add(tag);
        }
      } catch (FormatException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (tags.isEmpty()) {
      throw first;
    }
    return List.copyOf(tags);
  }

  /**
   * The key a tag stands for, trying the main encoding, then each fallback.
   *
   * @throws FormatException with every encoding's reason when none decodes the tag
   */
  public String decode(String tag) {
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
    throw new FormatException("tag '" + tag + "'", "", "cannot be decoded (" + String.join("; ", reasons) + ")");
  }

  /** The main encoding followed by the fallbacks, without repeats. */
  public List<TagEncoding> encodings() {
    Set<TagEncoding> all = new LinkedHashSet<>();
    all.add(main);
    all.addAll(fallbacks);
    return List.copyOf(all);
  }

  private static Tag toTag(String key, TagEncoding encoding) {
    if (key.isEmpty()) {
      throw new FormatException("key ''", "", "a cache key cannot be empty");
    }
    String encoded = encoding.encode(key);
    if (encoded.length() > Tag.MAX_LENGTH) {
      throw new FormatException(
          "key '" + key + "'",
          "",
          "its "
              + encoding.cliName()
              + " tag would be "
              + encoded.length()
              + " characters long; OCI tags are at most "
              + Tag.MAX_LENGTH);
    }
    return new Tag(encoded);
  }
}
