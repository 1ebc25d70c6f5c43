package dev.oranc.push.pipeline;

import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.upload.Probe;
import dev.oranc.push.upload.Target;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;

/**
 * Stage 1 of a push: look each path up in the registry, {@code probes} at once, in dependency
 * order, and send it on by what is there: its narinfo, signed by us (the path is done), its NAR
 * alone (only the narinfo goes up: {@link NarInfoStage}), or neither ({@link NarStage}). Runs on
 * {@link PushRun}'s coordinator thread; the look-ups' answers are posted back to it.
 */
final class ProbeStage {

  private final PushRun run;
  private final Target target;
  private final PipelineSettings settings;
  private final NarStage nars;
  private final NarInfoStage narInfos;
  private final Queue<PathNode> queue = new ArrayDeque<>();
  private int probing;

  ProbeStage(
      PushRun run, Target target, PipelineSettings settings, NarStage nars, NarInfoStage narInfos) {
    this.run = run;
    this.target = target;
    this.settings = settings;
    this.nars = nars;
    this.narInfos = narInfos;
  }

  void add(PathNode n) {
    queue.add(n);
  }

  boolean idle() {
    return probing == 0;
  }

  void pump() {
    while (probing < settings.probes() && !queue.isEmpty()) {
      PathNode n = queue.poll();
      if (n.status != null) {
        continue;
      }
      probing++;
      CompletableFuture<Probe> f;
      try {
        f = target.probe(n.info);
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.whenComplete((p, e) -> run.post(() -> onProbe(n, p, e)));
    }
  }

  private void onProbe(PathNode n, Probe probe, Throwable error) {
    probing--;
    pump();
    if (n.status != null) {
      run.checkDone();
      return;
    }
    if (error != null) {
      run.fail(
          n, Status.FAILED, "cannot look it up in the registry: " + PathFailures.describe(error));
    } else {
      switch (probe.kind()) {
        case IN_REGISTRY -> run.finish(n, Status.IN_REGISTRY);
        case NAR_PRESENT -> {
          n.nar = probe.nar();
          if (n.waitingFor > 0) {
            narInfos.stage(n, n.nar);
          }
          narInfos.queue(n);
        }
        case MISSING -> nars.add(n);
      }
    }
    run.checkDone();
  }
}
