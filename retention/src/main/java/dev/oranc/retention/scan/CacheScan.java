package dev.oranc.retention.scan;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every key of a repository, read once: what {@code gc} plans from and {@code check} checks.
 *
 * @param keys every key whose manifest is a cache file's image
 * @param narinfos by the narinfo's key
 * @param pinned the hash parts of every pinned path, over all pins
 * @param problems keys that could not be understood (a foreign image, a narinfo that does not
 *     parse), one line each; gc keeps them
 * @param unreadable the keys of those problems
 * @param foreignTags tags that are not cache keys at all (another tool's images): left alone
 */
public record CacheScan(
    List<CacheKey> keys,
    Map<String, NarInfoFacts> narinfos,
    Set<String> pinned,
    List<String> problems,
    Set<String> unreadable,
    int foreignTags) {

  public CacheScan {
    keys = List.copyOf(keys);
    narinfos = Map.copyOf(narinfos);
    pinned = Set.copyOf(pinned);
    problems = List.copyOf(problems);
    unreadable = Set.copyOf(unreadable);
  }

  /** Keys by kind. */
  public List<CacheKey> ofKind(KeyKind kind) {
    List<CacheKey> out = new ArrayList<>();
    for (CacheKey k : keys) {
      if (k.kind() == kind) {
        out.add(k);
      }
    }
    return out;
  }

  /** Keys present, by key (when a key is under two tags, either). */
  public Map<String, CacheKey> byKey() {
    Map<String, CacheKey> out = new HashMap<>(keys.size() * 2);
    for (CacheKey k : keys) {
      out.putIfAbsent(k.key(), k);
    }
    return out;
  }
}
