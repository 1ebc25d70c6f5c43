package dev.oranc.push.upload;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a push learns from one tag listing, long keys (hashed tags) included. */
class TagListingTest {

  private static final String LONG_KEY =
      "realisations/sha256:67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1!"
          + "out".repeat(20)
          + ".doi";

  @Test
  void aListedHashedTagMarksItsLongKeyAsPossiblyThere() {
    TagCodec codec = TagCodec.DEFAULT;
    TagListing listing =
        TagListing.of(
            List.of("nix-cache-info", codec.writeTag(LONG_KEY).value(), "not_a_tag_of_ours_"),
            codec);
    assertTrue(TagCodec.isHashed(codec.writeTag(LONG_KEY)));
    assertTrue(listing.contains("nix-cache-info", codec));
    assertTrue(listing.contains(LONG_KEY, codec));
    assertFalse(listing.contains(LONG_KEY + "x", codec));
    assertFalse(listing.contains("other.narinfo", codec));
  }

  @Test
  void aKeyLongOnlyInTheFallbackEncodingIsFoundUnderItsHashedTag() {
    // base32 of this key is over 128 characters, custom is not: an old writer with base32 as its
    // main encoding stored it under the hashed tag, which a reader with base32 as fallback finds.
    String key =
        "realisations/sha256:67890e0958e5d1a2944a3389151472a9acde025c7812f68381a7eef0d82152d1!out.doi";
    TagCodec reader = new TagCodec(TagEncoding.CUSTOM, List.of(TagEncoding.BASE32_DNSSEC));
    TagListing listing = TagListing.of(List.of(TagCodec.hashedTag(key).value()), reader);
    assertTrue(listing.contains(key, reader));
    assertFalse(listing.contains(key, TagCodec.DEFAULT));
  }
}
