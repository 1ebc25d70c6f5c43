package dev.oranc.push.pipeline;

import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.progress.Progress;
import dev.oranc.push.upload.CompressedNar;
import dev.oranc.push.upload.NarCompressor;
import dev.oranc.push.upload.NarSink;
import dev.oranc.push.upload.Target;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 2 of a push: the NAR of each path the registry lacks, serialised, hashed, compressed and
 * streamed into a blob upload, then completed and tagged.
 *
 * <p>Design note. {@code parallel} paths at once, dependencies first, each on a thread of its own,
 * but only {@code cpuThreads} computing at once ({@link #turns}): a path whose upload waits for the
 * link gives its CPU turn to another. Once the last byte is handed over the path leaves its slot to
 * the next one and, asynchronously ({@code finishing} at once), the blob is completed and tagged
 * {@code nar/<hash>.nar.zst}; keeping a slot through those round trips would leave the cores idle
 * while the registry answers. A NAR shared by several paths (same NarHash) is uploaded by one (its
 * leader), the others follow it. A streamed chunk that broke off is tried again, with a doubling
 * delay. The bookkeeping runs on {@link PushRun}'s coordinator thread; the CPU threads only stream
 * and post events back, and block on the upload's back-pressure, never on anything else.
 */
final class NarStage {

  /** {@link Pipeline}'s category: operators configure the push's pipeline by it. */
  private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

  private final PushRun run;
  private final Target target;
  private final NarCompressor compressor;
  private final Progress progress;
  private final PipelineSettings settings;
  private final NarInfoStage narInfos;

  /** One thread per path in its NAR stage ({@code parallel}); only {@link #turns} compute. */
  private final ExecutorService cpu;

  /**
   * CPU turns ({@code cpuThreads}, no more than the cores): a path serialises and compresses only
   * while it holds one, and gives it back while its upload waits for the link. So {@code -p} paths
   * can be streaming at once to fill a slow link while no more than the cores compute.
   */
  private final Semaphore turns;

  private final PriorityQueue<PathNode> queue =
      new PriorityQueue<>(Comparator.comparingInt(n -> n.index));

  /**
   * The path that uploads each NAR of this push. Two store paths with the same contents have the
   * same NAR and so the same key, {@code nar/<NarHash>.nar.zst}: one uploads it, the others wait
   * and share it. (Uploading it twice at once would race two manifests for one tag.)
   */
  private final Map<NixHash, PathNode> leaders = new HashMap<>();

  /** Paths whose NAR is queued for or on a CPU thread (held to {@code parallel}). */
  private int running;

  /** Uploads fully handed over and completing: blob PUT, config and tag (memory: a chunk each). */
  private int finishing;

  NarStage(
      PushRun run,
      Target target,
      NarCompressor compressor,
      Progress progress,
      PipelineSettings settings,
      NarInfoStage narInfos) {
    this.run = run;
    this.target = target;
    this.compressor = compressor;
    this.progress = progress;
    this.settings = settings;
    this.narInfos = narInfos;
    this.cpu = Executors.newFixedThreadPool(settings.parallel(), PushRun.daemon("oranc-push-cpu"));
    this.turns = new Semaphore(settings.cpuThreads());
  }

  boolean idle() {
    return running == 0 && finishing == 0;
  }

  /** A path the registry lacks: upload its NAR, or follow the path of this push that does. */
  void add(PathNode n) {
    PathNode leader = leaders.putIfAbsent(n.info.narHash(), n);
    if (leader == null) {
      progress.expectNar(n.info.narSize());
      queue.add(n);
      pump();
    } else if (leader.nar != null) {
      n.nar = leader.nar;
      narInfos.queue(n);
    } else {
      if (leader.narFollowers == null) {
        leader.narFollowers = new ArrayList<>();
      }
      leader.narFollowers.add(n);
    }
  }

  private void pump() {
    while (running < settings.parallel() && finishing < settings.finishing() && !queue.isEmpty()) {
      PathNode n = queue.poll();
      if (n.status != null) {
        continue;
      }
      running++;
      cpu.execute(() -> uploadNar(n, 1));
    }
  }

  /** On a CPU thread: waits for a CPU turn, then {@link #streamNar}. */
  private void uploadNar(PathNode n, int attempt) {
    try {
      turns.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      run.post(
          () -> {
            onStreamed(n);
            onNar(n, attempt, null, null, e);
          });
      return;
    }
    try {
      streamNar(n, attempt);
    } finally {
      turns.release();
    }
  }

  /** Holding a CPU turn: the NAR through zstd into an upload; the rest goes on asynchronously. */
  private void streamNar(PathNode n, int attempt) {
    if (n.cancelled) {
      run.post(
          () -> {
            onStreamed(n);
            onNar(n, attempt, null, null, null);
          });
      return;
    }
    CompressedNar compressed = null;
    CompletableFuture<Descriptor> stored;
    // Whether onStreamed was posted: exactly once per try, or the slot counts go wrong and the
    // push never ends. Not "compressed != null": finish() can still throw after the compression
    // (the upload broke off between the last write and the end of the body).
    boolean handedOver = false;
    try (NarSink sink = target.openNar()) {
      // Waiting for the link is not CPU work: the turn goes to another path meanwhile.
      sink.whileBlocked(turns::release, turns::acquireUninterruptibly);
      compressed =
          compressor.compress(n.info, sink.stream(), progress::narRead, progress::fileWritten);
      CompressedNar c = compressed;
      CompletableFuture<Descriptor> finished = sink.finish();
      CompletableFuture<Descriptor> described = sink.described();
      if (described != null) {
        // The narinfo's bytes are known now: its blob and config go up while the NAR completes.
        described.thenAccept(d -> run.post(() -> narInfos.stage(n, d)));
      }
      // The CPU work is done: the next path may start while this one completes.
      handedOver = true;
      run.post(() -> onStreamed(n));
      stored =
          finished.thenCompose(
              blob -> {
                if (blob.size() != c.fileSize()) {
                  throw new IntegrityException(
                      n.path()
                          + ": the registry stored "
                          + blob.size()
                          + " bytes of its NAR, we sent "
                          + c.fileSize());
                }
                return target.publishNar(n.info, blob).thenApply(v -> blob);
              });
    } catch (Throwable e) {
      if (!handedOver) {
        run.post(() -> onStreamed(n)); // failed before the hand-over
      }
      stored = CompletableFuture.failedFuture(e);
    }
    CompressedNar c = compressed;
    stored.whenComplete((blob, e) -> run.post(() -> onNar(n, attempt, c, blob, e)));
  }

  /** A NAR left its CPU thread: it no longer counts against {@code parallel}. */
  private void onStreamed(PathNode n) {
    running--;
    finishing++;
    pump();
  }

  private void onNar(
      PathNode n, int attempt, CompressedNar compressed, Descriptor blob, Throwable error) {
    finishing--;
    if (error != null
        && n.status == null
        && attempt < settings.maxAttempts()
        && PathFailures.retryable(error)) {
      long delay = settings.retryDelay().toMillis() << (attempt - 1);
      log.debug(
          "{}: upload broke off ({}), trying again in {} ms",
          n.path(),
          PathFailures.describe(error),
          delay);
      running++; // the retry holds a slot again from now on
      run.schedule(() -> cpu.execute(() -> uploadNar(n, attempt + 1)), delay);
      return;
    }
    pump();
    if (n.status == null) {
      if (error != null) {
        run.fail(n, Status.FAILED, PathFailures.describe(error));
      } else if (blob != null) {
        n.nar = blob;
        n.uploadedNar = true;
        n.narBytes = compressed.narSize();
        n.fileBytes = compressed.fileSize();
        narInfos.queue(n);
      }
    }
    if (n.narFollowers != null && n.nar != null) {
      // (Had the upload failed, fail() above would have failed them and cleared the list.)
      for (PathNode follower : n.narFollowers) {
        follower.nar = n.nar;
        narInfos.queue(follower);
      }
      n.narFollowers = null;
    }
    run.checkDone();
  }

  void shutdown() {
    cpu.shutdownNow();
  }
}
