package dev.oranc.retention.gc;

import dev.oranc.common.error.RegistryException;
import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.RetentionException;
import dev.oranc.retention.pin.Pins;
import dev.oranc.retention.scan.CacheKey;
import dev.oranc.retention.scan.CacheScan;
import dev.oranc.retention.scan.CacheScanner;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code oranc gc}: reads the whole repository ({@link CacheScanner}), plans ({@link GcPlan}) and
 * deletes in the plan's order, {@code parallelism} at a time, paced by a {@link DeleteThrottle}.
 *
 * <p>A delete is submitted only once every delete it waits for has succeeded (or found the key
 * gone), so whatever is in flight when the process dies is safe to have happened or not. A delete
 * the registry still rate-limits after the client's own retries waits for its {@code Retry-After}
 * and goes again; one that fails otherwise is reported, and only what waits for it is held back. A
 * registry that refuses deletes altogether (401, 403, 405) ends the run at the first one.
 */
public final class GarbageCollector {

  private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);

  static final int SAMPLE = 20;
  static final int MAX_FAILURES_LISTED = 20;

  /** Rounds of a rate-limited delete before it counts as failed. */
  static final int RATE_LIMIT_ROUNDS = 5;

  static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(30);
  static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(5);

  private final CacheTarget target;
  private final GcOptions options;
  private final Clock clock;
  private Deleter deleter;
  private DeleteThrottle throttle;
  private DeleteThrottle.Sleeper sleeper = DeleteThrottle.Sleeper.SYSTEM;
  private volatile CacheScanner scanner;
  private final AtomicLong toDelete = new AtomicLong(-1);
  private final AtomicLong deleted = new AtomicLong();

  public GarbageCollector(CacheTarget target, GcOptions options, Clock clock) {
    this.target = target;
    this.options = options;
    this.clock = clock;
    this.deleter = Deleter.of(target);
    this.throttle = DeleteThrottle.system(options.maxDeletesPerMinute());
  }

  /** Replaces how keys are deleted (tests inject faults). */
  public GarbageCollector deleter(Deleter deleter) {
    this.deleter = deleter;
    return this;
  }

  /** Replaces the pacing and the waits (tests record them instead). */
  public GarbageCollector pacing(DeleteThrottle throttle, DeleteThrottle.Sleeper sleeper) {
    this.throttle = throttle;
    this.sleeper = sleeper;
    return this;
  }

  /** The progress line: keys scanned, to delete, deleted. */
  public String progress() {
    CacheScanner s = scanner;
    String scanned =
        s == null ? "listing tags" : "scanned " + s.scanned() + "/" + s.listed() + " keys";
    long doomed = toDelete.get();
    return doomed < 0 ? scanned : scanned + ", to delete " + doomed + ", deleted " + deleted.get();
  }

  public GcSummary run() throws InterruptedException {
    Instant now = clock.instant();
    scanner = new CacheScanner(target, options.parallelism(), List.of());
    CacheScan scan = scanner.scan();
    for (String key : scan.unreadable()) {
      if (key.startsWith(Pins.PREFIX)) {
        throw new RetentionException(
            "pin "
                + key.substring(Pins.PREFIX.length())
                + " cannot be read, so what it keeps is unknown;"
                + " nothing was deleted (fix it with 'oranc pin add' or remove it): "
                + scan.problems().stream()
                    .filter(p -> p.startsWith(key + ":"))
                    .findFirst()
                    .orElse(""));
      }
    }
    GcPlan plan = GcPlan.of(scan, now, options);
    List<CacheKey> doomed = plan.doomed();
    toDelete.set(doomed.size());
    log.info(
        "{}: {} keys, {} to delete{}",
        target.repository(),
        scan.keys().size(),
        doomed.size(),
        options.dryRun() ? " (dry run)" : "");
    boolean[] done = new boolean[doomed.size()];
    List<String> failures = new ArrayList<>();
    long failed = 0;
    if (!options.dryRun()) {
      failed = delete(plan, done, failures);
    }
    long narinfosKept = 0, narsKept = 0, otherKept = 0, undated = 0;
    for (CacheKey k : plan.kept()) {
      switch (k.kind()) {
        case NARINFO -> narinfosKept++;
        case NAR -> narsKept++;
        default -> otherKept++;
      }
    }
    long narinfosDeleted = 0, narsDeleted = 0, otherDeleted = 0, bytes = 0, notReached = 0;
    List<String> sample = new ArrayList<>();
    for (int i = 0; i < doomed.size(); i++) {
      CacheKey k = doomed.get(i);
      boolean gone = options.dryRun() || done[i];
      if (!gone) {
        // Still there: kept, for now.
        switch (k.kind()) {
          case NARINFO -> narinfosKept++;
          case NAR -> narsKept++;
          default -> otherKept++;
        }
        continue;
      }
      switch (k.kind()) {
        case NARINFO -> narinfosDeleted++;
        case NAR -> narsDeleted++;
        default -> otherDeleted++;
      }
      bytes += k.layerSize();
      if (sample.size() < SAMPLE) {
        sample.add(k.key());
      }
    }
    for (CacheKey k : scan.keys()) {
      if (k.undated()) {
        undated++;
      }
    }
    if (!options.dryRun()) {
      long succeeded = narinfosDeleted + narsDeleted + otherDeleted;
      notReached = doomed.size() - succeeded - failed;
    }
    return new GcSummary(
        options.dryRun(),
        narinfosKept,
        narinfosDeleted,
        narsKept,
        narsDeleted,
        otherKept,
        otherDeleted,
        bytes,
        undated,
        failed,
        notReached,
        sample,
        failures);
  }

  private record Outcome(int index, Throwable failure) {}

  /** Deletes in the plan's order; marks {@code done}; the number of deletes that failed. */
  private long delete(GcPlan plan, boolean[] done, List<String> failures)
      throws InterruptedException {
    List<CacheKey> doomed = plan.doomed();
    int[] waiting = new int[doomed.size()];
    int[] rounds = new int[doomed.size()];
    Deque<Integer> ready = new ArrayDeque<>();
    for (int i = 0; i < doomed.size(); i++) {
      waiting[i] = plan.blockers(i);
      if (waiting[i] == 0) {
        ready.add(i);
      }
    }
    ExecutorService pool =
        Executors.newFixedThreadPool(
            options.parallelism(),
            r -> {
              Thread t = new Thread(r, "oranc-gc-delete");
              t.setDaemon(true);
              return t;
            });
    ExecutorCompletionService<Outcome> completions = new ExecutorCompletionService<>(pool);
    int inFlight = 0;
    long failed = 0;
    RuntimeException fatal = null;
    try {
      while (!ready.isEmpty() || inFlight > 0) {
        while (fatal == null && !ready.isEmpty() && inFlight < options.parallelism()) {
          int i = ready.poll();
          throttle.acquire();
          completions.submit(
              () -> {
                try {
                  deleter.delete(doomed.get(i));
                  return new Outcome(i, null);
                } catch (RuntimeException e) {
                  return new Outcome(i, e);
                }
              });
          inFlight++;
        }
        if (inFlight == 0) {
          break;
        }
        Outcome o;
        try {
          o = completions.take().get();
        } catch (ExecutionException e) {
          throw new IllegalStateException(e.getCause());
        }
        inFlight--;
        int i = o.index();
        CacheKey key = doomed.get(i);
        if (o.failure() == null) {
          done[i] = true;
          deleted.incrementAndGet();
          log.debug("deleted {} ({})", key.key(), key.manifestDigest());
          for (int j : plan.unblocks(i)) {
            if (--waiting[j] == 0) {
              ready.add(j);
            }
          }
        } else if (o.failure() instanceof RegistryException.RateLimited limited
            && ++rounds[i] < RATE_LIMIT_ROUNDS) {
          Duration wait =
              limited.retryAfterSeconds() < 0
                  ? DEFAULT_RETRY_AFTER
                  : Duration.ofSeconds(
                      Math.min(limited.retryAfterSeconds(), MAX_RETRY_AFTER.toSeconds()));
          log.warn(
              "the registry rate-limits deletes: waiting {} s, then going on", wait.toSeconds());
          sleeper.sleep(wait);
          ready.addFirst(i);
        } else if (o.failure() instanceof RegistryException.Forbidden
            || o.failure() instanceof RegistryException.Unauthorized) {
          fatal =
              o.failure() instanceof RuntimeException r
                  ? r
                  : new IllegalStateException(o.failure());
          failed++;
        } else if (o.failure() instanceof RegistryException e) {
          failed++;
          log.warn("could not delete {}: {}", key.key(), e.getMessage());
          if (failures.size() < MAX_FAILURES_LISTED) {
            failures.add(key.key() + ": " + e.getMessage());
          }
        } else {
          fatal = (RuntimeException) o.failure();
        }
      }
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(1, TimeUnit.MINUTES);
    }
    if (fatal != null) {
      if (fatal instanceof RegistryException e) {
        throw new RetentionException(
            e.getMessage() + " (" + deleted.get() + " keys deleted before)", e);
      }
      throw fatal;
    }
    return failed;
  }
}
