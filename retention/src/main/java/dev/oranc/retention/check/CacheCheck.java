package dev.oranc.retention.check;

import dev.oranc.retention.scan.CacheKey;
import dev.oranc.retention.scan.CacheScan;
import dev.oranc.retention.scan.KeyKind;
import dev.oranc.retention.scan.NarInfoFacts;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code oranc check}: whether a cache is one Nix can substitute from without surprises. Every
 * narinfo's NAR is there with the digest and size the narinfo says ({@code FileHash}, {@code
 * FileSize} against the NAR layer's digest and size), every reference has a narinfo, every
 * realisation names a narinfo, and, when trusted keys are given, every narinfo carries a signature
 * one of them verifies. This is the invariant {@code gc} keeps at every instant.
 */
public final class CacheCheck {

  private CacheCheck() {}

  /**
   * What {@code check} found: the problems, one line each, sorted; and the paths that narinfos
   * reference but that have no narinfo here, each with the narinfos referencing it (sorted).
   */
  public record Result(List<String> problems, Map<String, List<String>> missingReferences) {

    public Result {
      problems = List.copyOf(problems);
      missingReferences = Collections.unmodifiableMap(new TreeMap<>(missingReferences));
    }

    /** How many narinfos reference a path that has no narinfo. */
    public long referrers() {
      Set<String> referrers = new HashSet<>();
      missingReferences.values().forEach(referrers::addAll);
      return referrers.size();
    }

    /**
     * The problems, with one line per path that is referenced but has no narinfo (how many narinfos
     * reference it and the first of them), unless {@code allowMissingReferences}.
     */
    public List<String> lines(boolean allowMissingReferences) {
      List<String> lines = new ArrayList<>(problems);
      if (!allowMissingReferences) {
        for (Map.Entry<String, List<String>> e : missingReferences.entrySet()) {
          List<String> by = e.getValue();
          lines.add(
              e.getKey()
                  + ": has no narinfo, but "
                  + (by.size() == 1
                      ? by.get(0) + " references it"
                      : by.size() + " narinfos reference it (" + by.get(0) + ", …)"));
        }
      }
      lines.sort(null);
      return lines;
    }
  }

  /**
   * The problems, one line each, sorted; empty when the cache is consistent. A path referenced by
   * several narinfos but without a narinfo of its own is one line.
   */
  public static List<String> problems(CacheScan scan) {
    return check(scan).lines(false);
  }

  public static Result check(CacheScan scan) {
    List<String> problems = new ArrayList<>(scan.problems());
    Map<String, List<String>> missing = new HashMap<>();
    Map<String, CacheKey> byKey = scan.byKey();
    Set<String> narinfoHashes = new HashSet<>();
    for (NarInfoFacts n : scan.narinfos().values()) {
      narinfoHashes.add(n.hashPart());
    }
    for (Map.Entry<String, NarInfoFacts> e : scan.narinfos().entrySet()) {
      String key = e.getKey();
      NarInfoFacts n = e.getValue();
      CacheKey nar = byKey.get(n.narKey());
      if (nar == null) {
        problems.add(key + ": its NAR " + n.narKey() + " is missing");
      } else {
        if (n.fileSize() >= 0 && n.fileSize() != nar.layerSize()) {
          problems.add(
              key
                  + ": FileSize "
                  + n.fileSize()
                  + " but "
                  + n.narKey()
                  + " is "
                  + nar.layerSize()
                  + " bytes");
        }
        if (n.fileDigest() != null && !n.fileDigest().equals(nar.layerDigest())) {
          problems.add(
              key
                  + ": FileHash is "
                  + n.fileDigest()
                  + " but "
                  + n.narKey()
                  + " is "
                  + nar.layerDigest());
        }
      }
      for (String ref : n.references()) {
        if (!narinfoHashes.contains(ref)) {
          missing.computeIfAbsent(ref, r -> new ArrayList<>(1)).add(key);
        }
      }
      if (n.signatureProblem() != null) {
        problems.add(key + ": " + n.signatureProblem());
      }
    }
    for (CacheKey k : scan.keys()) {
      if (k.kind() == KeyKind.REALISATION
          && k.subject() != null
          && !narinfoHashes.contains(k.subject())) {
        problems.add(k.key() + ": names " + k.subject() + ", which has no narinfo");
      }
    }
    problems.sort(null);
    missing.values().forEach(l -> l.sort(null));
    return new Result(problems, missing);
  }
}
