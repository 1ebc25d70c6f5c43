package dev.oranc.retention.gc;

import dev.oranc.retention.scan.CacheKey;
import dev.oranc.retention.scan.CacheScan;
import dev.oranc.retention.scan.KeyKind;
import dev.oranc.retention.scan.NarInfoFacts;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code gc} deletes, and in which order: a pure function of a {@link CacheScan}, the pins in
 * it, the time and the options.
 *
 * <p><b>Live set.</b> Roots are the pinned paths, every narinfo written within {@code keep}, and
 * every key {@linkplain #isProtected protected} (within {@code grace}, or undated unless {@code
 * --undated delete}): a protected narinfo is a root, and so is the path a protected realisation
 * names, so that what is kept is always consistent. The live narinfos are the closure of the roots
 * over the {@code References} of the narinfos in the registry (not the local store). A NAR lives
 * while a live narinfo names it; realisations and listings live with their path, debuginfo with its
 * NAR, logs by age; {@code nix-cache-info}, pins and keys of no known kind always live.
 *
 * <p><b>Order.</b> Each doomed key waits for the doomed keys that point at it: a narinfo for every
 * doomed narinfo that references it and every doomed realisation that names it; a NAR for every
 * doomed narinfo that names it and every doomed debuginfo that points into it. As nothing live
 * points at anything doomed (the live set is closed), deleting in this order leaves a consistent
 * cache after every single delete: a {@code kill -9} at any instant leaves a cache {@code oranc
 * check} accepts, and a delete that fails holds back only what waits for it.
 */
public final class GcPlan {

  private final List<CacheKey> doomed;
  private final int[] blockers;
  private final int[][] unblocks;
  private final List<CacheKey> kept;

  private GcPlan(List<CacheKey> doomed, int[] blockers, int[][] unblocks, List<CacheKey> kept) {
    this.doomed = doomed;
    this.blockers = blockers;
    this.unblocks = unblocks;
    this.kept = kept;
  }

  /** The keys to delete. */
  public List<CacheKey> doomed() {
    return doomed;
  }

  public List<CacheKey> kept() {
    return kept;
  }

  /** How many doomed keys {@code doomed().get(i)} waits for. */
  int blockers(int i) {
    return blockers[i];
  }

  /** The doomed keys that wait for {@code doomed().get(i)}. */
  int[] unblocks(int i) {
    return unblocks[i];
  }

  static boolean isProtected(CacheKey k, Instant now, GcOptions options) {
    if (k.created() == null) {
      return !options.deleteUndated();
    }
    return k.created().isAfter(now.minus(options.grace()));
  }

  static boolean isRecent(CacheKey k, Instant now, GcOptions options) {
    return k.created() != null && !k.created().isBefore(now.minus(options.keep()));
  }

  public static GcPlan of(CacheScan scan, Instant now, GcOptions options) {
    Map<String, List<CacheKey>> narinfosByHash = new HashMap<>();
    Deque<String> work = new ArrayDeque<>();
    Set<String> liveHashes = new HashSet<>();
    for (CacheKey k : scan.keys()) {
      if (k.kind() == KeyKind.NARINFO) {
        narinfosByHash.computeIfAbsent(k.subject(), h -> new ArrayList<>(1)).add(k);
        if (scan.pinned().contains(k.subject())
            || isRecent(k, now, options)
            || isProtected(k, now, options)) {
          work.add(k.subject());
        }
      } else if (k.kind() == KeyKind.REALISATION
          && k.subject() != null
          && isProtected(k, now, options)) {
        work.add(k.subject());
      }
    }
    while (!work.isEmpty()) {
      String hash = work.poll();
      if (!liveHashes.add(hash)) {
        continue;
      }
      for (CacheKey n : narinfosByHash.getOrDefault(hash, List.of())) {
        NarInfoFacts facts = scan.narinfos().get(n.key());
        if (facts != null) {
          for (String ref : facts.references()) {
            if (!liveHashes.contains(ref)) {
              work.add(ref);
            }
          }
        }
      }
    }
    Set<String> liveNars = new HashSet<>();
    for (Map.Entry<String, NarInfoFacts> e : scan.narinfos().entrySet()) {
      if (liveHashes.contains(e.getValue().hashPart())) {
        liveNars.add(e.getValue().narKey());
      }
    }
    for (CacheKey k : scan.keys()) {
      if (k.kind() == KeyKind.NAR && isProtected(k, now, options)) {
        liveNars.add(k.key());
      }
    }

    List<CacheKey> doomed = new ArrayList<>();
    List<CacheKey> kept = new ArrayList<>();
    for (CacheKey k : scan.keys()) {
      boolean live =
          isProtected(k, now, options)
              || switch (k.kind()) {
                case NARINFO, LISTING -> liveHashes.contains(k.subject());
                case REALISATION -> k.subject() == null || liveHashes.contains(k.subject());
                case NAR -> liveNars.contains(k.key());
                case DEBUGINFO -> k.subject() == null || liveNars.contains(k.subject());
                case LOG -> isRecent(k, now, options);
                case CACHE_INFO, PIN, OTHER -> true;
              };
      (live ? kept : doomed).add(k);
    }
    doomed.sort((a, b) -> a.key().compareTo(b.key()));

    // Edges: for each doomed key, the doomed keys that must go after it.
    Map<String, List<Integer>> doomedNarinfos = new HashMap<>();
    Map<String, List<Integer>> doomedNars = new HashMap<>();
    for (int i = 0; i < doomed.size(); i++) {
      CacheKey k = doomed.get(i);
      if (k.kind() == KeyKind.NARINFO) {
        doomedNarinfos.computeIfAbsent(k.subject(), h -> new ArrayList<>(1)).add(i);
      } else if (k.kind() == KeyKind.NAR) {
        doomedNars.computeIfAbsent(k.key(), h -> new ArrayList<>(1)).add(i);
      }
    }
    List<List<Integer>> after = new ArrayList<>(doomed.size());
    int[] blockers = new int[doomed.size()];
    for (int i = 0; i < doomed.size(); i++) {
      CacheKey k = doomed.get(i);
      List<Integer> next = new ArrayList<>();
      switch (k.kind()) {
        case NARINFO -> {
          NarInfoFacts facts = scan.narinfos().get(k.key());
          if (facts != null) {
            for (String ref : facts.references()) {
              next.addAll(doomedNarinfos.getOrDefault(ref, List.of()));
            }
            next.addAll(doomedNars.getOrDefault(facts.narKey(), List.of()));
          }
        }
        case REALISATION -> next.addAll(doomedNarinfos.getOrDefault(k.subject(), List.of()));
        case DEBUGINFO -> next.addAll(doomedNars.getOrDefault(k.subject(), List.of()));
        default -> {}
      }
      next.remove(Integer.valueOf(i));
      for (int j : next) {
        blockers[j]++;
      }
      after.add(next);
    }
    int[][] unblocks = new int[doomed.size()][];
    for (int i = 0; i < doomed.size(); i++) {
      unblocks[i] = after.get(i).stream().mapToInt(Integer::intValue).toArray();
    }
    return new GcPlan(List.copyOf(doomed), blockers, unblocks, List.copyOf(kept));
  }
}
