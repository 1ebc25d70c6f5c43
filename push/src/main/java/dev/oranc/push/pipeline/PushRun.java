package dev.oranc.push.pipeline;

import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PathOutcome;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.closure.Closure;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.narinfo.NarInfoMaker;
import dev.oranc.push.progress.Progress;
import dev.oranc.push.upload.NarCompressor;
import dev.oranc.push.upload.Target;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link Pipeline#run}: the coordinator thread, the paths and their dependency graph, and what
 * became of each path.
 *
 * <p>Design note. Every event of the run (a look-up answered, a NAR handed over or stored, a
 * narinfo published) is {@link #post posted} to one thread, so the paths' state and the stages'
 * queues and counts need no locks. This class owns what the stages share: a path's end ({@link
 * #finish}, which lets its dependents' narinfos go; {@link #fail}, which fails them, transitively),
 * and the run's end ({@link #checkDone}: every path has an outcome and no stage has anything in
 * flight). The stages ({@link ProbeStage}, {@link NarStage}, {@link NarInfoStage}) own their queues
 * and how many run at once.
 */
final class PushRun {

  /** {@link Pipeline}'s category: operators configure the push's pipeline by it. */
  private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

  private final ScheduledExecutorService coordinator =
      Executors.newSingleThreadScheduledExecutor(daemon("oranc-push-coordinator"));

  final CompletableFuture<List<PathOutcome>> done = new CompletableFuture<>();
  private final NarInfoMaker maker;
  private final Progress progress;
  private final List<PathNode> nodes = new ArrayList<>();
  private final ProbeStage probes;
  private final NarStage nars;
  private final NarInfoStage narInfos;
  private int unfinished;

  PushRun(
      Closure closure,
      Target target,
      NarCompressor compressor,
      NarInfoMaker maker,
      Progress progress,
      PipelineSettings settings) {
    this.maker = maker;
    this.progress = progress;
    this.narInfos = new NarInfoStage(this, target, maker, settings);
    this.nars = new NarStage(this, target, compressor, progress, settings, narInfos);
    this.probes = new ProbeStage(this, target, settings, nars, narInfos);
    Map<StorePath, PathNode> byPath = new HashMap<>();
    for (PathInfo info : closure.paths().values()) {
      PathNode n = new PathNode(nodes.size(), info);
      nodes.add(n);
      byPath.put(info.path(), n);
    }
    for (PathNode n : nodes) {
      for (StorePath ref : n.info.references()) {
        PathNode dep = byPath.get(ref);
        if (dep != null && dep != n) {
          dep.dependents.add(n);
          n.waitingFor++;
        }
      }
    }
    unfinished = nodes.size();
  }

  /** Starts the run on the coordinator thread; {@link #done} completes with the outcomes. */
  void begin() {
    coordinator.execute(this::start);
  }

  private void start() {
    try {
      for (PathNode n : nodes) {
        try {
          n.sigs = maker.signatures(n.info);
        } catch (IntegrityException | IllegalArgumentException e) {
          fail(n, Status.FAILED, e.getMessage());
          continue;
        }
        if (n.status == null) {
          probes.add(n);
        }
      }
      probes.pump();
      checkDone();
    } catch (RuntimeException | Error e) {
      done.completeExceptionally(e);
    }
  }

  void finish(PathNode n, Status status) {
    n.status = status;
    unfinished--;
    progress.finished(status);
    log.debug("{}: {}", n.path(), status);
    for (PathNode d : n.dependents) {
      d.waitingFor--;
      narInfos.queue(d);
    }
  }

  /**
   * Fails {@code n} and, transitively, every path that refers to it (iteratively: chains can be
   * deep).
   */
  void fail(PathNode n, Status status, String detail) {
    ArrayDeque<PathNode> work = new ArrayDeque<>();
    ArrayDeque<String> details = new ArrayDeque<>();
    ArrayDeque<Status> statuses = new ArrayDeque<>();
    work.add(n);
    details.add(detail);
    statuses.add(status);
    while (!work.isEmpty()) {
      PathNode f = work.poll();
      String why = details.poll();
      Status how = statuses.poll();
      if (f.status != null) {
        continue;
      }
      f.status = how;
      f.detail = why;
      f.cancelled = true;
      unfinished--;
      progress.finished(how);
      if (how == Status.FAILED) {
        log.error("{}: {}", f.path(), why);
      } else {
        log.debug("{}: {}", f.path(), why);
      }
      for (PathNode d : f.dependents) {
        work.add(d);
        details.add("it refers to " + f.path() + ", which failed");
        statuses.add(Status.DEPENDENCY_FAILED);
      }
      if (f.narFollowers != null) {
        // They waited for this path's upload of their NAR, which will not come now.
        for (PathNode follower : f.narFollowers) {
          work.add(follower);
          details.add("its NAR is the one of " + f.path() + ", which failed: " + why);
          statuses.add(Status.FAILED);
        }
        f.narFollowers = null;
      }
    }
  }

  void checkDone() {
    if (unfinished == 0 && probes.idle() && nars.idle() && narInfos.idle() && !done.isDone()) {
      List<PathOutcome> outcomes = new ArrayList<>(nodes.size());
      for (PathNode n : nodes) {
        outcomes.add(n.outcome());
      }
      done.complete(outcomes);
    }
  }

  /** Runs {@code event} on the coordinator thread; a failure in it fails the run. */
  void post(Runnable event) {
    try {
      coordinator.execute(
          () -> {
            try {
              event.run();
            } catch (RuntimeException | Error e) {
              done.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      // Shut down after the run ended (an interrupted push): nothing waits for it.
    }
  }

  /** Runs {@code task} on the coordinator thread after {@code millis}. */
  void schedule(Runnable task, long millis) {
    coordinator.schedule(task, millis, TimeUnit.MILLISECONDS);
  }

  void shutdown() {
    nars.shutdown();
    coordinator.shutdownNow();
  }

  static ThreadFactory daemon(String name) {
    AtomicInteger count = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
