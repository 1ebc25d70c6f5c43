package dev.oranc.proxy.cache;

import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.proxy.metrics.ServerMetrics;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills {@link LayerCache} and {@link BlobCache} ahead of the requests Nix is about to make, so
 * that a cold server answers them from memory instead of a registry round trip or two each.
 *
 * <p>Design note.
 *
 * <ul>
 *   <li><b>Three triggers</b>, each a hook the download handler calls after it has answered (or
 *       while it answers) a request:
 *       <ol>
 *         <li>a narinfo served whose layer or bytes came from the registry ({@link #narinfoServed}
 *             with {@code fetched}): the narinfos of its {@code References} are resolved and their
 *             bytes fetched. Nix walks a closure through References, so these are its next
 *             requests. A prefetched narinfo whose layer or bytes came from the registry does the
 *             same for its own References, so one cold narinfo warms its whole closure; the walk
 *             stops at what is cached already (and is bounded by the queue);
 *         <li>a {@code HEAD} that resolved a small blob ({@link #headResolved}): its bytes are
 *             fetched. Nix 2.8 {@code HEAD}s every narinfo of a closure at once and then {@code
 *             GET}s them one at a time; after this each {@code GET} is a hit;
 *         <li>any narinfo served or prefetched: its {@code URL} key (the NAR) is resolved, unless
 *             its layer is cached already, so the NAR's {@code GET} costs no manifest round trip.
 *       </ol>
 *   <li><b>Same scope as the request.</b> A prefetch runs with the triggering request's registry,
 *       repository and credentials, through the same caches and the same single-flight loads as a
 *       request: a layer entry it makes is keyed by that request's credential scope (so only a
 *       request with the same credentials sees it), and a blob entry by (registry, repository,
 *       digest), consulted by a request only after its own credentials resolved the key ({@link
 *       BlobCache}'s note). A prefetch therefore makes no entry a request could not have made, and
 *       lets no request read what its own credentials could not.
 *   <li><b>Bounded, never blocking.</b> At most {@code concurrency} prefetches run at once, and at
 *       most {@code queue} wait; one more is dropped (counted), never waited for. A prefetch of an
 *       entry already waiting or running is skipped, and so is a layer already cached (for the NAR
 *       trigger). The set of entries waiting or running is as bounded as the queue.
 *   <li><b>Failures are nobody's.</b> A failed prefetch is counted and logged at debug, and nothing
 *       of it is kept: the caches drop a failed load ({@link SingleFlight}), so the next request
 *       asks the registry again. A request that arrives while a prefetch of its entry is in flight
 *       shares that load, as it would share another request's. A registry "not found" is cached as
 *       a request's would be, for the layer cache's short negative lifetime.
 *   <li><b>Threads.</b> A prefetch runs on the event loop of the request that triggered it (the
 *       registry client pools per loop); the queue is a small locked structure, touched once per
 *       submission and completion.
 * </ul>
 */
public final class Prefetcher {

  private static final Logger log = LoggerFactory.getLogger(Prefetcher.class);

  /** What a narinfo's URL may be to be prefetched as a key: a relative path, no dot segments. */
  private static final Pattern NAR_URL =
      Pattern.compile("[A-Za-z0-9+_=-][A-Za-z0-9+_=.-]*(/[A-Za-z0-9+_=-][A-Za-z0-9+_=.-]*)*");

  private static final String NARINFO = ".narinfo";

  /** The prefetcher of {@code --no-prefetch}: every hook does nothing. */
  public static Prefetcher disabled() {
    return new Prefetcher();
  }

  private record Job(
      RepositoryRef repo,
      String key,
      Credentials credentials,
      EventLoop loop,
      boolean body,
      LayerCache.Key id) {}

  private final boolean enabled;
  private final OciBinaryCache registry;
  private final LayerCache layers;
  private final BlobCache blobs;
  private final ServerMetrics metrics;
  private final int concurrency;
  private final int maxQueue;
  private final Object lock = new Object();
  private final ArrayDeque<Job> queue = new ArrayDeque<>();
  private final Set<LayerCache.Key> pending = new HashSet<>();
  private int running;

  private Prefetcher() {
    this.enabled = false;
    this.registry = null;
    this.layers = null;
    this.blobs = null;
    this.metrics = null;
    this.concurrency = 0;
    this.maxQueue = 0;
  }

  public Prefetcher(
      OciBinaryCache registry,
      LayerCache layers,
      BlobCache blobs,
      ServerMetrics metrics,
      int concurrency,
      int maxQueue) {
    if (concurrency < 1) {
      throw new IllegalArgumentException(
          "prefetch concurrency: " + concurrency + " (expected: at least 1)");
    }
    if (maxQueue < 0) {
      throw new IllegalArgumentException("prefetch queue: " + maxQueue + " (expected: 0 or more)");
    }
    this.enabled = true;
    this.registry = registry;
    this.layers = layers;
    this.blobs = blobs;
    this.metrics = metrics;
    this.concurrency = concurrency;
    this.maxQueue = maxQueue;
  }

  public boolean enabled() {
    return enabled;
  }

  /**
   * A narinfo (key {@code key}, bytes {@code bytes}) was served to a request with {@code
   * credentials}: its NAR is resolved, and when {@code fetched} (its layer or its bytes came from
   * the registry, not the caches) the narinfos of its References are prefetched.
   */
  public void narinfoServed(
      RepositoryRef repo,
      String key,
      byte[] bytes,
      boolean fetched,
      Credentials credentials,
      EventLoop loop) {
    if (!enabled || !key.endsWith(NARINFO)) {
      return;
    }
    try {
      NarInfo info = parse(repo, key, bytes);
      if (info != null) {
        warm(repo, info, fetched, credentials, loop);
      }
    } catch (RuntimeException e) {
      // A prefetch is nobody's business but the caches': it never fails the request that caused it.
      log.warn("prefetch after {} in {}: {}", key, repo, e.toString(), e);
    }
  }

  /** A {@code HEAD} resolved {@code key} to {@code file}: fetch its bytes when they are cached. */
  public void headResolved(
      RepositoryRef repo, String key, StoredFile file, Credentials credentials, EventLoop loop) {
    if (!enabled
        || !key.endsWith(NARINFO)
        || !blobs.holds(file.size())
        || blobs.contains(repo, file.digest())) {
      return;
    }
    try {
      submit(repo, key, credentials, loop, true);
    } catch (RuntimeException e) {
      log.warn("prefetch after HEAD {} in {}: {}", key, repo, e.toString(), e);
    }
  }

  /** The NAR's layer, unless cached; and when {@code fetched}, the References' narinfos. */
  private void warm(
      RepositoryRef repo, NarInfo info, boolean fetched, Credentials credentials, EventLoop loop) {
    if (NAR_URL.matcher(info.url()).matches()
        && !info.url().endsWith(NARINFO)
        && !layers.contains(repo, info.url(), credentials)) {
      submit(repo, info.url(), credentials, loop, false);
    }
    if (fetched) {
      references(repo, info, credentials, loop);
    }
  }

  private void references(
      RepositoryRef repo, NarInfo info, Credentials credentials, EventLoop loop) {
    for (StorePath ref : info.references()) {
      if (ref.equals(info.storePath())) {
        continue; // a path that refers to itself is being served
      }
      String refKey = ref.hashPart() + NARINFO;
      if (layers.contains(repo, refKey, credentials)) {
        metrics.prefetch("skipped");
        continue;
      }
      submit(repo, refKey, credentials, loop, true);
    }
  }

  private void submit(
      RepositoryRef repo, String key, Credentials credentials, EventLoop loop, boolean body) {
    LayerCache.Key id = LayerCache.Key.of(repo, key, credentials);
    Job job = new Job(repo, key, credentials, loop, body, id);
    synchronized (lock) {
      if (pending.contains(id)) {
        metrics.prefetch("skipped");
        return;
      }
      if (running >= concurrency) {
        if (queue.size() >= maxQueue) {
          metrics.prefetch("dropped");
          return;
        }
        pending.add(id);
        queue.add(job);
        return;
      }
      pending.add(id);
      running++;
    }
    start(job);
  }

  private void start(Job job) {
    if (!launch(job)) {
      finished(job, new RejectedExecutionException("the server is closing"));
    }
  }

  /** Hands {@code job} to its loop; false when the loop takes no more tasks (the server closes). */
  private static boolean launch(Job job, Runnable task) {
    try {
      job.loop.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  private boolean launch(Job job) {
    return launch(job, () -> run(job));
  }

  private void run(Job job) {
    CompletableFuture<?> f;
    try {
      f =
          layers
              .get(
                  job.repo,
                  job.key,
                  job.credentials,
                  () ->
                      timed(
                          "prefetch_resolve",
                          () -> registry.find(job.repo, job.key, job.credentials, job.loop)))
              .thenCompose(lookup -> afterResolve(job, lookup));
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete((v, e) -> finished(job, e));
  }

  private CompletableFuture<Void> afterResolve(Job job, LayerCache.Lookup lookup) {
    Optional<StoredFile> file = lookup.file();
    if (!job.body || file.isEmpty() || !blobs.holds(file.get().size())) {
      return CompletableFuture.completedFuture(null);
    }
    StoredFile f = file.get();
    return blobs
        .get(
            job.repo,
            f.digest(),
            () ->
                timed(
                    "prefetch_blob_get",
                    () -> registry.read(f, blobs.maxBlobBytes(), job.credentials, job.loop)))
        .thenAccept(
            b -> {
              if (!lookup.hit() || !b.hit()) {
                NarInfo info = parse(job.repo, job.key, b.bytes());
                if (info != null) {
                  warm(job.repo, info, true, job.credentials, job.loop);
                }
              }
            });
  }

  /** Counts {@code job}'s end and starts the next waiting one (in a loop, not by recursion). */
  private void finished(Job job, Throwable error) {
    while (job != null) {
      count(job, error);
      Job next;
      synchronized (lock) {
        pending.remove(job.id);
        next = queue.poll();
        if (next == null) {
          running--;
        }
        if (pending.isEmpty()) {
          lock.notifyAll();
        }
      }
      if (next == null || launch(next)) {
        return;
      }
      job = next;
      error = new RejectedExecutionException("the server is closing");
    }
  }

  private void count(Job job, Throwable error) {
    if (error == null) {
      metrics.prefetch("done");
    } else {
      metrics.prefetch("failed");
      Throwable cause =
          error instanceof CompletionException && error.getCause() != null
              ? error.getCause()
              : error;
      // The key and repository, never the credentials.
      log.debug("prefetch of {} in {} failed: {}", job.key, job.repo, cause.toString());
    }
  }

  private <T> CompletableFuture<T> timed(String operation, Supplier<CompletableFuture<T>> call) {
    long start = System.nanoTime();
    CompletableFuture<T> f;
    try {
      f = call.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (v, e) ->
            metrics.registry(
                operation,
                e != null ? "error" : v instanceof Optional<?> o && o.isEmpty() ? "miss" : "ok",
                System.nanoTime() - start));
    return f;
  }

  /** The narinfo, or null when it is not one we can read (then nothing is prefetched for it). */
  private static NarInfo parse(RepositoryRef repo, String key, byte[] bytes) {
    try {
      String text = new String(bytes, StandardCharsets.UTF_8);
      int at;
      if (text.startsWith("StorePath: ")) {
        at = 0;
      } else {
        at = text.indexOf("\nStorePath: ");
        if (at < 0) {
          return null;
        }
        at++;
      }
      int start = at + "StorePath: ".length();
      int eol = text.indexOf('\n', start);
      String path = eol < 0 ? text.substring(start) : text.substring(start, eol);
      int slash = path.lastIndexOf('/');
      if (slash <= 0) {
        return null;
      }
      return NarInfo.parse(path.substring(0, slash), bytes);
    } catch (RuntimeException e) {
      log.debug("prefetch: {} in {} is not a narinfo we read: {}", key, repo, e.getMessage());
      return null;
    }
  }

  /**
   * Waits until no prefetch is waiting or running, at most {@code timeout}; true when none is
   * (tests, and benchmarks that want a settled server).
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (!pending.isEmpty()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      return true;
    }
  }

  /** Prefetches waiting or running (tests). */
  public int pending() {
    synchronized (lock) {
      return pending.size();
    }
  }
}
