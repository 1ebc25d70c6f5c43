package dev.oranc.push.pipeline;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.OrancException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.push.PathOutcome;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.closure.Closure;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.narinfo.NarInfoMaker;
import dev.oranc.push.progress.Progress;
import dev.oranc.push.upload.CompressedNar;
import dev.oranc.push.upload.NarCompressor;
import dev.oranc.push.upload.NarSink;
import dev.oranc.push.upload.Probe;
import dev.oranc.push.upload.Target;
import dev.oranc.push.upload.UploadFailedException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>Threads: all bookkeeping happens on one coordinator thread, so the state below needs no locks;
 * registry callbacks (on event loops) and CPU threads only post events to it. The CPU pool blocks
 * on the upload's back-pressure, never on anything else.
 */
public final class Pipeline {

  private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

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
    Run run = new Run(closure);
    try {
      run.coordinator.execute(run::start);
      try {
        return run.done.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("the push coordinator failed", e.getCause());
      }
    } finally {
      run.shutdown();
    }
  }

  /** One path's state; touched only on the coordinator thread, except {@link #cancelled}. */
  private static final class Node {
    final int index;
    final PathInfo info;
    final List<Node> dependents = new ArrayList<>();
    List<NixSignature> sigs;
    int waitingFor;
    Descriptor nar;
    boolean uploadedNar;
    boolean narInfoQueued;
    long narBytes;
    long fileBytes;
    Status status;
    String detail = "";
    volatile boolean cancelled;

    /** Paths with the same NAR (same NarHash) that wait for this one's upload. */
    List<Node> narFollowers;

    Node(int index, PathInfo info) {
      this.index = index;
      this.info = info;
    }

    StorePath path() {
      return info.path();
    }
  }

  private final class Run {
    final ScheduledExecutorService coordinator =
        Executors.newSingleThreadScheduledExecutor(daemon("oranc-push-coordinator"));

    /** One thread per path in its NAR stage ({@code parallel}); only {@link #turns} compute. */
    final ExecutorService cpu =
        Executors.newFixedThreadPool(settings.parallel(), daemon("oranc-push-cpu"));

    /**
     * CPU turns ({@code cpuThreads}, no more than the cores): a path serialises and compresses only
     * while it holds one, and gives it back while its upload waits for the link. So {@code -p}
     * paths can be streaming at once to fill a slow link while no more than the cores compute.
     */
    final Semaphore turns = new Semaphore(settings.cpuThreads());

    final CompletableFuture<List<PathOutcome>> done = new CompletableFuture<>();
    final List<Node> nodes = new ArrayList<>();
    final Queue<Node> probeQueue = new ArrayDeque<>();
    final PriorityQueue<Node> narQueue = new PriorityQueue<>(Comparator.comparingInt(n -> n.index));
    final Queue<Node> publishQueue = new ArrayDeque<>();

    /**
     * The path that uploads each NAR of this push. Two store paths with the same contents have the
     * same NAR and so the same key, {@code nar/<NarHash>.nar.zst}: one uploads it, the others wait
     * and share it. (Uploading it twice at once would race two manifests for one tag.)
     */
    final Map<NixHash, Node> narLeaders = new HashMap<>();

    int probing;

    /** Paths whose NAR is queued for or on a CPU thread (held to {@code parallel}). */
    int narRunning;

    /**
     * Uploads fully handed over and completing: blob PUT, config and tag (memory: a chunk each).
     */
    int narFinishing;

    int publishing;
    int unfinished;

    Run(Closure closure) {
      Map<StorePath, Node> byPath = new HashMap<>();
      for (PathInfo info : closure.paths().values()) {
        Node n = new Node(nodes.size(), info);
        nodes.add(n);
        byPath.put(info.path(), n);
      }
      for (Node n : nodes) {
        for (StorePath ref : n.info.references()) {
          Node dep = byPath.get(ref);
          if (dep != null && dep != n) {
            dep.dependents.add(n);
            n.waitingFor++;
          }
        }
      }
      unfinished = nodes.size();
    }

    void start() {
      try {
        for (Node n : nodes) {
          try {
            n.sigs = maker.signatures(n.info);
          } catch (IntegrityException | IllegalArgumentException e) {
            fail(n, Status.FAILED, e.getMessage());
            continue;
          }
          if (n.status == null) {
            probeQueue.add(n);
          }
        }
        pumpProbes();
        checkDone();
      } catch (RuntimeException | Error e) {
        done.completeExceptionally(e);
      }
    }

    // --- stage 1: probe --------------------------------------------------------------------

    void pumpProbes() {
      while (probing < settings.probes() && !probeQueue.isEmpty()) {
        Node n = probeQueue.poll();
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
        f.whenComplete((p, e) -> post(() -> onProbe(n, p, e)));
      }
    }

    void onProbe(Node n, Probe probe, Throwable error) {
      probing--;
      pumpProbes();
      if (n.status != null) {
        checkDone();
        return;
      }
      if (error != null) {
        fail(n, Status.FAILED, "cannot look it up in the registry: " + describe(error));
      } else {
        switch (probe.kind()) {
          case IN_REGISTRY -> finish(n, Status.IN_REGISTRY);
          case NAR_PRESENT -> {
            n.nar = probe.nar();
            if (n.waitingFor > 0) {
              stageNarInfo(n, n.nar);
            }
            queueNarInfo(n);
          }
          case MISSING -> {
            Node leader = narLeaders.putIfAbsent(n.info.narHash(), n);
            if (leader == null) {
              progress.expectNar(n.info.narSize());
              narQueue.add(n);
              pumpNars();
            } else if (leader.nar != null) {
              n.nar = leader.nar;
              queueNarInfo(n);
            } else {
              if (leader.narFollowers == null) {
                leader.narFollowers = new ArrayList<>();
              }
              leader.narFollowers.add(n);
            }
          }
        }
      }
      checkDone();
    }

    // --- stage 2: NAR ----------------------------------------------------------------------

    void pumpNars() {
      while (narRunning < settings.parallel()
          && narFinishing < settings.finishing()
          && !narQueue.isEmpty()) {
        Node n = narQueue.poll();
        if (n.status != null) {
          continue;
        }
        narRunning++;
        cpu.execute(() -> uploadNar(n, 1));
      }
    }

    /** On a CPU thread: waits for a CPU turn, then {@link #streamNar}. */
    void uploadNar(Node n, int attempt) {
      try {
        turns.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        post(
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
    void streamNar(Node n, int attempt) {
      if (n.cancelled) {
        post(
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
          described.thenAccept(d -> post(() -> stageNarInfo(n, d)));
        }
        // The CPU work is done: the next path may start while this one completes.
        handedOver = true;
        post(() -> onStreamed(n));
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
          post(() -> onStreamed(n)); // failed before the hand-over
        }
        stored = CompletableFuture.failedFuture(e);
      }
      CompressedNar c = compressed;
      stored.whenComplete((blob, e) -> post(() -> onNar(n, attempt, c, blob, e)));
    }

    /** A NAR left its CPU thread: it no longer counts against {@code parallel}. */
    void onStreamed(Node n) {
      narRunning--;
      narFinishing++;
      pumpNars();
    }

    void onNar(Node n, int attempt, CompressedNar compressed, Descriptor blob, Throwable error) {
      narFinishing--;
      if (error != null
          && n.status == null
          && attempt < settings.maxAttempts()
          && retryable(error)) {
        long delay = settings.retryDelay().toMillis() << (attempt - 1);
        log.debug(
            "{}: upload broke off ({}), trying again in {} ms", n.path(), describe(error), delay);
        narRunning++; // the retry holds a slot again from now on
        coordinator.schedule(
            () -> cpu.execute(() -> uploadNar(n, attempt + 1)), delay, TimeUnit.MILLISECONDS);
        return;
      }
      pumpNars();
      if (n.status == null) {
        if (error != null) {
          fail(n, Status.FAILED, describe(error));
        } else if (blob != null) {
          n.nar = blob;
          n.uploadedNar = true;
          n.narBytes = compressed.narSize();
          n.fileBytes = compressed.fileSize();
          queueNarInfo(n);
        }
      }
      if (n.narFollowers != null && n.nar != null) {
        // (Had the upload failed, fail() above would have failed them and cleared the list.)
        for (Node follower : n.narFollowers) {
          follower.nar = n.nar;
          queueNarInfo(follower);
        }
        n.narFollowers = null;
      }
      checkDone();
    }

    // --- stage 3: narinfo ------------------------------------------------------------------

    /**
     * Starts the upload of what {@code n}'s narinfo needs and no reader can see (its blob and
     * config) once its NAR's digest and size are known; the tag still waits for the NAR's tag and
     * the references (queueNarInfo). A narinfo that then differs is simply uploaded again.
     */
    void stageNarInfo(Node n, Descriptor nar) {
      if (n.status != null) {
        return;
      }
      try {
        target.stageNarInfo(n.info, maker.narInfo(n.info, n.sigs, nar.digest(), nar.size()));
      } catch (RuntimeException e) {
        log.debug("{}: not staging its narinfo: {}", n.path(), e.toString());
      }
    }

    void queueNarInfo(Node n) {
      if (n.status == null && n.nar != null && n.waitingFor == 0 && !n.narInfoQueued) {
        n.narInfoQueued = true;
        publishQueue.add(n);
        pumpPublishes();
      }
    }

    void pumpPublishes() {
      while (publishing < settings.publishes() && !publishQueue.isEmpty()) {
        Node n = publishQueue.poll();
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
        f.whenComplete((v, e) -> post(() -> onPublished(n, e)));
      }
    }

    void onPublished(Node n, Throwable error) {
      publishing--;
      pumpPublishes();
      if (n.status == null) {
        if (error != null) {
          fail(n, Status.FAILED, "cannot publish its narinfo: " + describe(error));
        } else {
          finish(n, n.uploadedNar ? Status.PUSHED : Status.NARINFO_ONLY);
        }
      }
      checkDone();
    }

    // --- outcomes --------------------------------------------------------------------------

    void finish(Node n, Status status) {
      n.status = status;
      unfinished--;
      progress.finished(status);
      log.debug("{}: {}", n.path(), status);
      for (Node d : n.dependents) {
        d.waitingFor--;
        queueNarInfo(d);
      }
    }

    /**
     * Fails {@code n} and, transitively, every path that refers to it (iteratively: chains can be
     * deep).
     */
    void fail(Node n, Status status, String detail) {
      ArrayDeque<Node> work = new ArrayDeque<>();
      ArrayDeque<String> details = new ArrayDeque<>();
      ArrayDeque<Status> statuses = new ArrayDeque<>();
      work.add(n);
      details.add(detail);
      statuses.add(status);
      while (!work.isEmpty()) {
        Node f = work.poll();
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
        for (Node d : f.dependents) {
          work.add(d);
          details.add("it refers to " + f.path() + ", which failed");
          statuses.add(Status.DEPENDENCY_FAILED);
        }
        if (f.narFollowers != null) {
          // They waited for this path's upload of their NAR, which will not come now.
          for (Node follower : f.narFollowers) {
            work.add(follower);
            details.add("its NAR is the one of " + f.path() + ", which failed: " + why);
            statuses.add(Status.FAILED);
          }
          f.narFollowers = null;
        }
      }
    }

    void checkDone() {
      if (unfinished == 0
          && probing == 0
          && narRunning == 0
          && narFinishing == 0
          && publishing == 0
          && !done.isDone()) {
        List<PathOutcome> outcomes = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
          outcomes.add(new PathOutcome(n.path(), n.status, n.detail, n.narBytes, n.fileBytes));
        }
        done.complete(outcomes);
      }
    }

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

    void shutdown() {
      cpu.shutdownNow();
      coordinator.shutdownNow();
    }
  }

  /**
   * Whether a failed NAR upload is worth another try: only a streamed chunk that broke off, which
   * the registry client cannot resend itself; everything else it has retried already, or will fail
   * the same way again.
   */
  static boolean retryable(Throwable error) {
    Throwable e = unwrap(error);
    return (e instanceof RegistryException.Unavailable
            || e instanceof RegistryException.RateLimited)
        && ((RegistryException) e).operation().startsWith("PATCH ");
  }

  /**
   * The failure inside the future wrappers ({@link Causes#of}) and the {@link
   * UploadFailedException} a {@code BlobOutputStream} write throws for the upload's failure.
   */
  static Throwable unwrap(Throwable e) {
    Throwable cause = Causes.of(e);
    while (cause instanceof UploadFailedException && cause.getCause() != null) {
      cause = Causes.of(cause.getCause());
    }
    return cause;
  }

  /** A one-line reason: oranc's own errors say what and where; others get their class named. */
  static String describe(Throwable error) {
    Throwable e = unwrap(error);
    if (e instanceof OrancException || e instanceof IOException) {
      return e.getMessage();
    }
    log.debug("unexpected failure", e);
    return "internal error: "
        + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger count = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
