package dev.oranc.retention.gc;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.push.progress.ProgressReporter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code gc} did (or, in a dry run, would do). Deleted counts are keys the registry no longer
 * has after the run, including ones another run had deleted already (404).
 *
 * @param bytesFreed the layer sizes of what was deleted; the registry frees the space when its own
 *     garbage collection runs
 * @param undated keys without a written time, kept or not
 * @param failed deletes that failed (listed in {@code failures})
 * @param notReached deletes not tried because a delete they wait for failed
 * @param sample some of the keys deleted (or to delete), sorted
 */
public record GcSummary(
    boolean dryRun,
    long narinfosKept,
    long narinfosDeleted,
    long narsKept,
    long narsDeleted,
    long otherKept,
    long otherDeleted,
    long bytesFreed,
    long undated,
    long failed,
    long notReached,
    List<String> sample,
    List<String> failures) {

  public GcSummary {
    sample = List.copyOf(sample);
    failures = List.copyOf(failures);
  }

  public boolean succeeded() {
    return failed == 0 && notReached == 0;
  }

  public long deleted() {
    return narinfosDeleted + narsDeleted + otherDeleted;
  }

  /** The closing lines for a person. */
  public List<String> lines() {
    String verb = dryRun ? "would delete" : "deleted";
    List<String> lines = new ArrayList<>();
    lines.add(
        verb
            + " "
            + narinfosDeleted
            + " narinfos, "
            + narsDeleted
            + " NARs, "
            + otherDeleted
            + " other keys ("
            + ProgressReporter.bytes(bytesFreed)
            + (dryRun ? "" : " freed")
            + "); kept "
            + narinfosKept
            + " narinfos, "
            + narsKept
            + " NARs, "
            + otherKept
            + " other keys; "
            + undated
            + " undated");
    if (dryRun && !sample.isEmpty()) {
      lines.add("for example: " + String.join(" ", sample));
    }
    for (String f : failures) {
      lines.add("failed: " + f);
    }
    if (notReached > 0) {
      lines.add(
          notReached
              + " keys were left because a delete they wait for failed; the next run deletes them");
    }
    return lines;
  }

  /** The summary as one JSON object, for CI. */
  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("dryRun", dryRun);
    m.put("narinfosKept", narinfosKept);
    m.put("narinfosDeleted", narinfosDeleted);
    m.put("narsKept", narsKept);
    m.put("narsDeleted", narsDeleted);
    m.put("otherKept", otherKept);
    m.put("otherDeleted", otherDeleted);
    m.put("bytesFreed", bytesFreed);
    m.put("undated", undated);
    m.put("failed", failed);
    m.put("notReached", notReached);
    m.put("sample", sample);
    m.put("failures", failures);
    try {
      return JSON.std.asString(m);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
