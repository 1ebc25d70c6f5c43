package dev.oranc.push.upload;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.oci.TagList;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one tag listing showed: the keys its tags decode to, and the hashed tags (keys too long for
 * a tag), which name no key by themselves.
 *
 * <p>Design note. A push of many paths into a repository that lacks most of them would otherwise
 * pay two look-ups per path; one listing ({@code GET …/tags/list}, Link pages) answers "not there"
 * for all of them without a request. It is a snapshot: a tag that appears after it is taken is not
 * seen, which costs an upload again, never correctness. {@link RegistryTarget} takes it once
 * ({@link #take}) and asks it before each look-up.
 */
record TagListing(Set<String> keys, Set<String> hashedTags) {

  /** {@link RegistryTarget}'s category: operators configure the push's registry side by it. */
  private static final Logger log = LoggerFactory.getLogger(RegistryTarget.class);

  /** Below this many paths, looking each up costs fewer requests than listing the repository. */
  static final int LIST_THRESHOLD = 8;

  static TagListing of(Iterable<String> tags, TagCodec codec) {
    Set<String> keys = new HashSet<>();
    Set<String> hashed = new HashSet<>();
    for (String tag : tags) {
      if (TagCodec.isHashed(tag)) {
        hashed.add(tag);
        continue;
      }
      try {
        keys.add(codec.decode(tag));
      } catch (FormatException e) {
        // Not a tag of ours (another tool's image in the same repository).
      }
    }
    return new TagListing(keys, hashed);
  }

  /**
   * Lists the repository's tags once, for a push of {@code paths} paths: null (look every path up
   * on its own) for a small push, where the look-ups are cheaper than a listing, and when the
   * listing would take more pages than there are paths (a huge repository) or fails.
   */
  static TagListing take(
      OciBinaryCache cache, RepositoryRef repository, Credentials credentials, int paths) {
    if (paths < LIST_THRESHOLD) {
      return null;
    }
    try {
      TagList tags =
          cache
              .client()
              .listTags(repository, 1000, paths, credentials, null)
              .get(5, TimeUnit.MINUTES);
      if (!tags.complete()) {
        log.debug("{}: more than {} pages of tags; looking paths up one by one", repository, paths);
        return null;
      }
      TagListing listing = of(tags.tags(), cache.codec());
      log.debug(
          "{}: {} tags listed", repository, listing.keys().size() + listing.hashedTags().size());
      return listing;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      log.debug("{}: cannot list tags ({}); looking paths up one by one", repository, e.toString());
      return null;
    }
  }

  /**
   * Whether the key may be there: its tag was listed. A hashed tag is only a hint (the manifest
   * says which key it holds), so the key is then looked up, and read only if it matches.
   */
  boolean contains(String key, TagCodec codec) {
    if (keys.contains(key)) {
      return true;
    }
    if (!hashedTags.isEmpty()) {
      for (Tag tag : codec.readTags(key)) {
        if (hashedTags.contains(tag.value())) {
          return true;
        }
      }
    }
    return false;
  }
}
