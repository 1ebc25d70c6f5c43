package dev.oranc.push.pipeline;

import dev.oranc.push.PathOutcome;
import dev.oranc.push.closure.Closure;
import dev.oranc.push.narinfo.NarInfoMaker;
import dev.oranc.push.progress.Progress;
import dev.oranc.push.upload.NarCompressor;
import dev.oranc.push.upload.Target;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Pushes the paths of a closure: look in the registry, compress and upload what is missing, publish
 * narinfos in an order that keeps the cache consistent.
 *
 * <p>Design note. Every path goes through up to three stages:
 *
 * <ol>
 *   <li><b>probe</b> (network, {@code probes} at once, in dependency order): is its narinfo there
 *       and signed by us (done), is its NAR there (reuse it), or neither;
 *   <li><b>NAR</b> ({@code parallel} paths at once, dependencies first, each on a thread of its
 *       own, but only {@code cpuThreads} computing at once: a path whose upload waits for the link
 *       gives its CPU turn to another): serialise, hash, compress and stream into a blob upload;
 *       once the last byte is handed over, the path leaves its slot to the next one and,
 *       asynchronously ({@code finishing} at once), the blob is completed and tagged {@code
 *       nar/<hash>.nar.zst}. Keeping a slot through those round trips would leave the cores idle
 *       while the registry answers;
 *   <li><b>narinfo</b> ({@code publishes} at once): when its NAR is in the registry and the
 *       narinfos of all its references in this push are too. Its blob and its image's config do not
 *       wait for that: they go up as soon as the NAR's digest is known (staged), beside the NAR's
 *       own last request, config and tag, since no reader can see an untagged blob. Per fresh path
 *       the chain is then the NAR's blob, its tag and the narinfo's tag.
 * </ol>
 *
 * So at every instant a narinfo in the registry names a NAR that is there and references that are
 * there (or were skipped as being in another cache). A path that fails fails the paths that refer
 * to it, transitively: their NARs may go up, their narinfos do not. Everything else goes on.
 *
 * <p>Threads: all bookkeeping happens on one coordinator thread, so the paths' state needs no
 * locks; registry callbacks (on event loops) and CPU threads only post events to it. The CPU pool
 * blocks on the upload's back-pressure, never on anything else.
 *
 * <p>Who does what: {@link PushRun} is one run (the coordinator thread, the paths' graph, a path's
 * end and the failures it spreads), {@link PathNode} one path's state; each stage is a class of its
 * own ({@link ProbeStage}, {@link NarStage}, {@link NarInfoStage}); {@link PathFailures} says which
 * failures are tried again and words them. They log under this class's name.
 */
public final class Pipeline {

  private final Target target;
  private final NarCompressor compressor;
  private final NarInfoMaker maker;
  private final Progress progress;
  private final PipelineSettings settings;

  public Pipeline(
      Target target,
      NarCompressor compressor,
      NarInfoMaker maker,
      Progress progress,
      PipelineSettings settings) {
    this.target = target;
    this.compressor = compressor;
    this.maker = maker;
    this.progress = progress;
    this.settings = settings;
  }

  /**
   * Pushes every path of {@code closure} (which holds only the paths to push, references first) and
   * returns what became of each, in the closure's order.
   */
  public List<PathOutcome> run(Closure closure) throws InterruptedException {
    PushRun run = new PushRun(closure, target, compressor, maker, progress, settings);
    try {
      run.begin();
      try {
        return run.done.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("the push coordinator failed", e.getCause());
      }
    } finally {
      run.shutdown();
    }
  }
}
