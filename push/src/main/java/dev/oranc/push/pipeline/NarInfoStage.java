package dev.oranc.push.pipeline;

import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.narinfo.NarInfoMaker;
import dev.oranc.push.upload.Target;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 3 of a push: a path's narinfo, {@code publishes} at once, published only when its NAR is in
 * the registry and the narinfos of all its references in this push are too; what keeps the cache
 * consistent at every instant. Its blob and config do not wait for that ({@link #stage}): they go
 * up as soon as the NAR's digest is known, since no reader sees an untagged blob. Runs on {@link
 * PushRun}'s coordinator thread; the publishes' answers are posted back to it.
 */
final class NarInfoStage {

  /** {@link Pipeline}'s category: operators configure the push's pipeline by it. */
  private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

  private final PushRun run;
  private final Target target;
  private final NarInfoMaker maker;
  private final PipelineSettings settings;
  private final Queue<PathNode> queue = new ArrayDeque<>();
  private int publishing;

  NarInfoStage(PushRun run, Target target, NarInfoMaker maker, PipelineSettings settings) {
    this.run = run;
    this.target = target;
    this.maker = maker;
    this.settings = settings;
  }

  boolean idle() {
    return publishing == 0;
  }

  /**
   * Starts the upload of what {@code n}'s narinfo needs and no reader can see (its blob and config)
   * once its NAR's digest and size are known; the tag still waits for the NAR's tag and the
   * references ({@link #queue}). A narinfo that then differs is simply uploaded again.
   */
  void stage(PathNode n, Descriptor nar) {
    if (n.status != null) {
      return;
    }
    try {
      target.stageNarInfo(n.info, maker.narInfo(n.info, n.sigs, nar.digest(), nar.size()));
    } catch (RuntimeException e) {
      log.debug("{}: not staging its narinfo: {}", n.path(), e.toString());
    }
  }

  /** Queues {@code n}'s narinfo if it may go up now: its NAR is there, its references are. */
  void queue(PathNode n) {
    if (n.status == null && n.nar != null && n.waitingFor == 0 && !n.narInfoQueued) {
      n.narInfoQueued = true;
      queue.add(n);
      pump();
    }
  }

  private void pump() {
    while (publishing < settings.publishes() && !queue.isEmpty()) {
      PathNode n = queue.poll();
      if (n.status != null) {
        continue;
      }
      publishing++;
      CompletableFuture<Void> f;
      try {
        NarInfo narInfo = maker.narInfo(n.info, n.sigs, n.nar.digest(), n.nar.size());
        f = target.publishNarInfo(n.info, narInfo);
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.whenComplete((v, e) -> run.post(() -> onPublished(n, e)));
    }
  }

  private void onPublished(PathNode n, Throwable error) {
    publishing--;
    pump();
    if (n.status == null) {
      if (error != null) {
        run.fail(n, Status.FAILED, "cannot publish its narinfo: " + PathFailures.describe(error));
      } else {
        run.finish(n, n.uploadedNar ? Status.PUSHED : Status.NARINFO_ONLY);
      }
    }
    run.checkDone();
  }
}
