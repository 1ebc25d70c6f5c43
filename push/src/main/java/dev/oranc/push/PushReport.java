package dev.oranc.push;

import dev.oranc.common.registry.throttle.Throttling;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.progress.ProgressReporter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a push did: every path of the closure with its outcome, and totals.
 *
 * @param outcomes one per path of the closure, references first
 * @param published files (NARs and narinfos) this push put into the registry; 0 in a dry run
 * @param realisations realisation files ({@code realisations/<id>.doi}) uploaded (in a dry run:
 *     that would be)
 * @param realisationFailures one line per realisation that could not be uploaded
 * @param cacheInfo what the push did about the cache's {@code nix-cache-info} (wrote it because the
 *     cache had none, or could not), a line of the summary; empty when it was there already
 * @param throttling how often and how long the registry's rate limits held the push back
 */
public record PushReport(
    List<PathOutcome> outcomes,
    Duration wallTime,
    boolean dryRun,
    long published,
    long realisations,
    List<String> realisationFailures,
    String cacheInfo,
    Throttling throttling) {

  public PushReport {
    outcomes = List.copyOf(outcomes);
    Objects.requireNonNull(wallTime, "wallTime");
    realisationFailures = List.copyOf(realisationFailures);
    Objects.requireNonNull(cacheInfo, "cacheInfo");
    Objects.requireNonNull(throttling, "throttling");
  }

  /** A report of a push the registry never rate-limited. */
  public PushReport(
      List<PathOutcome> outcomes,
      Duration wallTime,
      boolean dryRun,
      long published,
      long realisations,
      List<String> realisationFailures,
      String cacheInfo) {
    this(
        outcomes,
        wallTime,
        dryRun,
        published,
        realisations,
        realisationFailures,
        cacheInfo,
        Throttling.NONE);
  }

  /** A report without realisations, the cache's nix-cache-info there already. */
  public PushReport(List<PathOutcome> outcomes, Duration wallTime, boolean dryRun, long published) {
    this(outcomes, wallTime, dryRun, published, 0, List.of(), "", Throttling.NONE);
  }

  public long count(Status status) {
    return outcomes.stream().filter(o -> o.status() == status).count();
  }

  public List<PathOutcome> failures() {
    return outcomes.stream().filter(o -> o.status().failed()).toList();
  }

  /** No path failed, and every realisation of a pushed path is up. */
  public boolean succeeded() {
    return failures().isEmpty() && realisationFailures.isEmpty();
  }

  public long narBytes() {
    return outcomes.stream().mapToLong(PathOutcome::narBytes).sum();
  }

  public long fileBytes() {
    return outcomes.stream().mapToLong(PathOutcome::fileBytes).sum();
  }

  /** The closing lines: totals, then every failed path with its reason. */
  public List<String> summary() {
    long pushed = count(Status.PUSHED) + count(Status.NARINFO_ONLY);
    long inRegistry = count(Status.IN_REGISTRY);
    long skipped = count(Status.SKIPPED);
    long failed = failures().size();
    double seconds = Math.max(wallTime.toNanos() / 1e9, 1e-9);
    String verb = dryRun ? "would push" : "pushed";
    StringBuilder sb = new StringBuilder();
    if (!dryRun && published == 0 && realisations == 0 && failed == 0) {
      sb.append("nothing to upload: ");
    }
    sb.append(verb).append(' ').append(pushed).append(pushed == 1 ? " path" : " paths");
    long reused = count(Status.NARINFO_ONLY);
    if (reused > 0) {
      sb.append(" (").append(reused).append(" of them with a NAR already in the registry)");
    }
    sb.append(", ")
        .append(inRegistry)
        .append(" already in the registry, ")
        .append(skipped)
        .append(" skipped by signature, ")
        .append(failed)
        .append(" failed");
    if (realisations > 0 || !realisationFailures.isEmpty()) {
      sb.append(", ")
          .append(realisations)
          .append(realisations == 1 ? " realisation" : " realisations");
      if (!realisationFailures.isEmpty()) {
        sb.append(" (").append(realisationFailures.size()).append(" failed)");
      }
    }
    sb.append("; NAR ")
        .append(ProgressReporter.bytes(narBytes()))
        .append(", zstd ")
        .append(ProgressReporter.bytes(fileBytes()))
        .append(String.format(Locale.ROOT, " in %.1f s", seconds));
    if (narBytes() > 0) {
      sb.append(" (")
          .append(ProgressReporter.bytes((long) (narBytes() / seconds)))
          .append("/s of NAR)");
    }
    if (throttling.any()) {
      sb.append("; ").append(throttling.describe()).append(" by the registry's rate limits");
    }
    ArrayList<String> lines = new ArrayList<>();
    lines.add(sb.toString());
    if (!cacheInfo.isEmpty()) {
      lines.add(cacheInfo);
    }
    for (PathOutcome o : failures()) {
      lines.add(
          (o.status() == Status.FAILED ? "failed: " : "not pushed: ")
              + o.path()
              + ": "
              + o.detail());
    }
    lines.addAll(realisationFailures);
    return lines;
  }
}
