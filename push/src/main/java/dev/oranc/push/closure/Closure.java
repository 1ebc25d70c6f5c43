package dev.oranc.push.closure;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PushException;
import dev.oranc.push.db.PathInfo;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The paths a push covers, in dependency order: every path after the paths it refers to
 * (self-references aside). This is the order in which narinfos can go up so that none ever names a
 * reference that is not there yet, and so the order NARs are started in: the first narinfos can
 * then be published while later NARs are still compressing.
 *
 * <p>Nix never makes reference cycles other than a path referring to itself; a database that has
 * one is refused rather than pushed in an order that would break the guarantee.
 *
 * @param paths every path with what the database says about it, references first
 */
public record Closure(Map<StorePath, PathInfo> paths) {

  public Closure {
    paths = Collections.unmodifiableMap(new LinkedHashMap<>(paths));
  }

  /**
   * The closure of {@code roots} over references ({@code follow}), or just the roots.
   *
   * @param lookup what the database says about a path; empty if it is not valid
   * @throws PushException.BadInput naming the first root that is not valid
   * @throws PushException.Database when a reference is missing or the references form a cycle
   */
  public static Closure of(
      Collection<StorePath> roots, Function<StorePath, Optional<PathInfo>> lookup, boolean follow) {
    Map<StorePath, PathInfo> found = new HashMap<>();
    Deque<StorePath> queue = new ArrayDeque<>();
    for (StorePath root : roots) {
      PathInfo info =
          lookup
              .apply(root)
              .orElseThrow(
                  () ->
                      new PushException.BadInput(
                          root
                              + " is not a valid path in the Nix store (not built yet, or"
                              + " garbage-collected?)"));
      if (found.putIfAbsent(root, info) == null && follow) {
        queue.add(root);
      }
    }
    while (!queue.isEmpty()) {
      PathInfo info = found.get(queue.poll());
      for (StorePath ref : info.references()) {
        if (found.containsKey(ref)) {
          continue;
        }
        PathInfo refInfo =
            lookup
                .apply(ref)
                .orElseThrow(
                    () ->
                        new PushException.Database(
                            "the Nix database says "
                                + info.path()
                                + " refers to "
                                + ref
                                + ", which is not valid",
                            null));
        found.put(ref, refInfo);
        queue.add(ref);
      }
    }
    return new Closure(order(found));
  }

  /** Depth-first post-order over references inside {@code found}, roots in sorted order. */
  private static Map<StorePath, PathInfo> order(Map<StorePath, PathInfo> found) {
    Map<StorePath, PathInfo> ordered = new LinkedHashMap<>();
    Map<StorePath, Boolean> onStack = new HashMap<>();
    List<StorePath> starts = new ArrayList<>(found.keySet());
    starts.sort(null);
    for (StorePath start : starts) {
      if (ordered.containsKey(start)) {
        continue;
      }
      Deque<Map.Entry<StorePath, Iterator<StorePath>>> stack = new ArrayDeque<>();
      stack.push(Map.entry(start, found.get(start).references().iterator()));
      onStack.put(start, true);
      while (!stack.isEmpty()) {
        var top = stack.peek();
        StorePath path = top.getKey();
        Iterator<StorePath> refs = top.getValue();
        StorePath next = null;
        while (refs.hasNext()) {
          StorePath ref = refs.next();
          if (ref.equals(path) || !found.containsKey(ref) || ordered.containsKey(ref)) {
            continue;
          }
          if (onStack.getOrDefault(ref, false)) {
            throw new PushException.Database(
                "the Nix database has a reference cycle through "
                    + path
                    + " and "
                    + ref
                    + "; Nix never makes one, so the database is damaged",
                null);
          }
          next = ref;
          break;
        }
        if (next != null) {
          onStack.put(next, true);
          stack.push(Map.entry(next, found.get(next).references().iterator()));
        } else {
          stack.pop();
          onStack.put(path, false);
          ordered.put(path, found.get(path));
        }
      }
    }
    return ordered;
  }

  public int size() {
    return paths.size();
  }
}
