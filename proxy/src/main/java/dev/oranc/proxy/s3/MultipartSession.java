package dev.oranc.proxy.s3;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.OrancException;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.BlobUpload;
import dev.oranc.common.registry.auth.Credentials;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One S3 multipart upload, mapped onto one OCI blob upload session: the parts become the blob's
 * bytes in part-number order, then the blob is completed ({@code PUT ?digest=}) and the caller
 * publishes the manifest.
 *
 * <p>Design note. The registry takes a blob's bytes in order only (PATCHes at consecutive offsets,
 * the digest computed on the way), while S3 clients send several parts at once, in any order. So
 * each part, when its body begins, goes one of three ways:
 *
 * <ul>
 *   <li><b>direct</b> ({@link DirectPart}): it is the next part the blob needs and nothing is being
 *       fed: its bytes stream into the {@link BlobUpload} as they arrive (a client sending parts
 *       one at a time never touches the disk);
 *   <li><b>spooled</b> ({@link SpooledPart}): it is early (or the blob is busy): its bytes go to a
 *       file in the {@link Spool}; once it has ended it waits here ({@link WaitingPart}) for its
 *       turn, when a {@link SpoolFeeder} reads it back into the upload and deletes it;
 *   <li><b>duplicate</b> ({@link DuplicatePart}): the part already streamed on (a client retrying):
 *       its bytes are dropped and it is answered with the earlier ETag when its MD5 is the same,
 *       else {@link S3Rejected.InvalidPart}.
 * </ul>
 *
 * A direct part that does not end well (the client goes, or its checksum fails) has put bytes into
 * the blob that cannot be removed: the whole upload then fails with {@link S3Rejected.InvalidPart},
 * and only an abort is left to do. A spooled part that does not end well is simply dropped, and the
 * client may send it again.
 *
 * <p>Because the blob is built in order, the parts must be numbered 1, 2, 3… without gaps (every S3
 * client does so); {@link #complete} checks the client's list against what was stored ({@link
 * StoredParts}: order, ETags, nothing missing or extra), waits until the feeder has caught up, and
 * finishes the blob. Memory per upload is the upload's queue (a PATCH of at most 4 MiB) plus what
 * waits for a spool file to be written (about 1 MiB per part being received); the rest is on disk.
 *
 * <p>This class owns the upload's state: where it is (open, completing, blob done, ended, failed),
 * the parts being received, the order they go into the blob ({@link PartOrder}), what was stored,
 * and the decisions at each part's end (the part classes carry the bytes and call back here). It
 * also owns the {@link BlobUpload}'s end: finished, or aborted.
 *
 * <p>Threads: a part's bytes arrive on its connection's event loop, the spool's files are written
 * and read on the spool's I/O threads, the registry upload runs on its own loop, and {@link
 * #expireIfIdle} runs on the sweep's thread; each of them calls in here. The session's state is
 * guarded by its monitor; a spooled part's file by the part's. Lock order: session, then part — a
 * part never takes the session's monitor while holding its own (only {@link #gone()}, which needs
 * none), and the session aborts its parts after letting go of its monitor.
 */
public final class MultipartSession {

  private static final Logger log = LoggerFactory.getLogger(MultipartSession.class);

  static final long SLOW_DOWN_SECONDS = 5;

  /** What a part's body is written into while it arrives. */
  public interface PartSink {
    /**
     * Takes {@code data}, which it owns from now on. @throws S3Rejected.SlowDown when the spool is
     * full
     */
    void write(ByteBuf data);

    boolean isWritable();

    /** Runs {@code r}, on any thread, once the sink is writable again (or has failed). */
    void whenWritable(Runnable r);

    /** The body has ended and had this MD5: the part's ETag once it is stored, or why not. */
    CompletableFuture<String> finish(byte[] md5);

    /** The body will not end well (client gone, a bad checksum): what was received is dropped. */
    void abort(Throwable cause);
  }

  /** A completed blob, with the S3 ETag of the whole object (MD5 of the parts' MD5s, "-N"). */
  public record Completed(Descriptor blob, String etag, int parts) {}

  private enum State {
    OPEN,
    COMPLETING,
    BLOB_DONE,
    ENDED
  }

  private final String id;
  private final String fingerprint;
  private final RepositoryRef repository;
  private final String key;
  private final String contentType;
  private final String contentEncoding;
  private final BlobUpload upload;
  private final Spool spool;
  private final Ticker ticker;
  private final Consumer<MultipartSession> onEnd;
  private final MultipartUploads.Counters counters;

  // Guarded by this: these fields, and what order, stored and active hold.
  private State state = State.OPEN;

  /** Written under the monitor; volatile for {@link #gone()}, which a part calls without it. */
  private volatile String endedWhy;

  private Throwable failure;
  private long lastUsed;
  private final PartOrder order = new PartOrder();
  private final StoredParts stored = new StoredParts();
  private final Set<PartSink> active = new LinkedHashSet<>();
  private int lastPart;
  private String objectETag;
  private boolean finishing;
  private CompletableFuture<Completed> completion;

  MultipartSession(
      String id,
      Credentials credentials,
      RepositoryRef repository,
      String key,
      String contentType,
      String contentEncoding,
      BlobUpload upload,
      Spool spool,
      Ticker ticker,
      MultipartUploads.Counters counters,
      Consumer<MultipartSession> onEnd) {
    this.id = id;
    this.fingerprint = credentials.fingerprint();
    this.repository = repository;
    this.key = key;
    this.contentType = contentType;
    this.contentEncoding = contentEncoding;
    this.upload = upload;
    this.spool = spool;
    this.ticker = ticker;
    this.counters = counters;
    this.onEnd = onEnd;
    this.lastUsed = ticker.read();
    upload
        .result()
        .whenComplete(
            (d, e) -> {
              if (e != null) {
                failed(Causes.of(e));
              }
            });
  }

  /** The S3 upload id: unguessable, and only valid with the credentials that created it. */
  public String id() {
    return id;
  }

  public RepositoryRef repository() {
    return repository;
  }

  public String key() {
    return key;
  }

  /** The content type given at CreateMultipartUpload: the file's, once published. */
  public String contentType() {
    return contentType;
  }

  public String contentEncoding() {
    return contentEncoding;
  }

  boolean belongsTo(RepositoryRef repo, String k, Credentials credentials) {
    return repository.equals(repo)
        && key.equals(k)
        && fingerprint.equals(credentials.fingerprint());
  }

  /**
   * A part's body is about to arrive.
   *
   * @param declaredLength its length when known (reserved in the spool at once), else -1
   * @throws S3Rejected.NoSuchUpload when the upload has ended; {@link S3Rejected.SlowDown} when the
   *     part must be spooled and the spool is full; the upload's failure when it failed
   */
  public PartSink beginPart(int number, long declaredLength) {
    synchronized (this) {
      requireUsable();
      if (state != State.OPEN) {
        throw new S3Rejected.InvalidPart(
            "part " + number + " arrived while the upload is being completed");
      }
      lastUsed = ticker.read();
      PartSink sink;
      if (order.streamedOn(number)) {
        sink = new DuplicatePart(this, number);
      } else if (order.startDirect(number)) {
        sink = new DirectPart(this, upload, number);
        counters.direct.increment();
      } else {
        long reserve = Math.max(0, declaredLength);
        if (!spool.reserve(reserve)) {
          throw SpooledPart.spoolFull(spool, number);
        }
        sink = new SpooledPart(this, spool, number, reserve);
        counters.spooled.increment();
      }
      active.add(sink);
      return sink;
    }
  }

  /**
   * CompleteMultipartUpload: checks {@code parts} against what was stored, lets the spooled parts
   * that wait be fed, and finishes the blob. A Complete sent again while this one runs gets the
   * same result; once the upload is stored ({@link #completed}) its id is gone, and a Complete sent
   * again after that (its answer lost) is {@code NoSuchUpload} (docs/SERVER.md).
   *
   * @throws S3Rejected.InvalidPartOrder, {@link S3Rejected.InvalidPart} for a list that does not
   *     match; {@link S3Rejected.NoSuchUpload} when the upload has ended
   */
  public CompletableFuture<Completed> complete(List<S3Xml.CompletedPart> parts) {
    synchronized (this) {
      requireUsable();
      lastUsed = ticker.read();
      stored.check(parts);
      int direct = order.directPart();
      if (direct != 0) {
        throw new S3Rejected.InvalidPart("part " + direct + " is still being uploaded");
      }
      if (state == State.OPEN) {
        state = State.COMPLETING;
        lastPart = parts.size();
        objectETag = stored.objectETag(parts.size());
        completion = new CompletableFuture<>();
        kick();
      }
      return completion;
    }
  }

  /** The manifest is published: the upload is over. */
  public void completed() {
    end("was completed", null);
  }

  /** AbortMultipartUpload, or expiry: the registry session is cancelled, the spool freed. */
  public void abort(String why) {
    end(why, new IOException("the multipart upload " + why));
  }

  /** Aborts the upload if nothing has happened for {@code expiryNanos}; true if it did. */
  boolean expireIfIdle(long now, long expiryNanos) {
    synchronized (this) {
      if (state == State.ENDED || now - lastUsed <= expiryNanos) {
        return false;
      }
      boolean busy =
          failure == null && (!active.isEmpty() || order.feeding() || state == State.COMPLETING);
      if (busy) {
        return false;
      }
    }
    log.debug("multipart upload of {} in {} expired", key, repository);
    abort("expired");
    return true;
  }

  // --- what the parts and the feeder tell the session (never holding their own monitor) ---------

  /** A direct part's body ended well: it is stored, and the next part's turn comes. */
  synchronized CompletableFuture<String> directFinished(
      PartSink part, int number, long size, byte[] md5) {
    if (!active.remove(part)) {
      return CompletableFuture.failedFuture(gone());
    }
    if (failure != null) {
      return CompletableFuture.failedFuture(failure);
    }
    stored.put(number, size, md5);
    fed(number, size);
    return CompletableFuture.completedFuture(StoredParts.quoted(md5));
  }

  /** A direct part broke off after {@code size} bytes went into the blob: the upload fails. */
  void directBroke(PartSink part, int number, long size, Throwable cause) {
    synchronized (this) {
      if (!active.remove(part) || state == State.ENDED) {
        return;
      }
    }
    failed(
        new S3Rejected.InvalidPart(
            "part "
                + number
                + " broke off after "
                + size
                + " bytes while it was streaming to the registry ("
                + oneLine(cause)
                + "); this upload cannot be completed: abort it and upload again"));
  }

  /** A duplicate part's body ended: the earlier ETag if the bytes were the same. */
  synchronized CompletableFuture<String> duplicateFinished(PartSink part, int number, byte[] md5) {
    if (!active.remove(part)) {
      return CompletableFuture.failedFuture(gone());
    }
    StoredParts.Stored s = stored.get(number);
    if (s != null && MessageDigest.isEqual(s.md5(), md5)) {
      return CompletableFuture.completedFuture(StoredParts.quoted(md5));
    }
    return CompletableFuture.failedFuture(
        new S3Rejected.InvalidPart(
            "part "
                + number
                + " was sent to the registry already"
                + (s == null ? " (by another request, still arriving)" : " with other contents")
                + "; a part cannot be replaced once it has streamed on"));
  }

  /** A part that put nothing into the blob was aborted, or its spool file failed: forgotten. */
  synchronized void dropped(PartSink part) {
    active.remove(part);
  }

  /**
   * The session takes a spooled part's file: it waits for its turn, or is a duplicate.
   *
   * @return the part's ETag
   */
  String spooled(PartSink part, WaitingPart s) {
    synchronized (this) {
      boolean wasActive = active.remove(part);
      if (!wasActive || state == State.ENDED || failure != null || state != State.OPEN) {
        s.discard(spool);
        if (state == State.ENDED || !wasActive) {
          throw gone();
        }
        requireUsable();
        throw new S3Rejected.InvalidPart(
            "part " + s.number() + " arrived while the upload is being completed");
      }
      if (order.streamedOn(s.number())) {
        s.discard(spool);
        StoredParts.Stored earlier = stored.get(s.number());
        if (earlier != null && MessageDigest.isEqual(earlier.md5(), s.md5())) {
          return StoredParts.quoted(s.md5());
        }
        throw new S3Rejected.InvalidPart(
            "part "
                + s.number()
                + " was sent to the registry already with other contents; a part cannot be replaced"
                + " once it has streamed on");
      }
      WaitingPart replaced = order.await(s);
      if (replaced != null) {
        replaced.discard(spool);
      }
      stored.put(s.number(), s.size(), s.md5());
      lastUsed = ticker.read();
      kick();
      return StoredParts.quoted(s.md5());
    }
  }

  /** The feeder should stop: the upload ended or failed. */
  synchronized boolean stopped() {
    return state == State.ENDED || failure != null;
  }

  /** A part reached the blob. */
  synchronized void fed(int number, long size) {
    if (state == State.ENDED) {
      return;
    }
    order.fed(number);
    lastUsed = ticker.read();
    counters.fedBytes.add(size);
    kick();
  }

  /** The registry upload failed, or a direct part broke: no part can be added any more. */
  void failed(Throwable cause) {
    CompletableFuture<Completed> c;
    synchronized (this) {
      if (state == State.ENDED || failure != null) {
        return;
      }
      failure = cause;
      order.discardWaiting(spool);
      c = completion;
    }
    log.debug("multipart upload of {} in {} failed: {}", key, repository, cause.getMessage());
    upload.abort(cause);
    if (c != null) {
      c.completeExceptionally(cause);
    }
  }

  // --- state changes (hold the monitor) -------------------------------------------------------

  private void requireUsable() {
    if (state == State.ENDED) {
      throw new S3Rejected.NoSuchUpload("the multipart upload " + endedWhy);
    }
    if (failure != null) {
      throw failure instanceof RuntimeException r ? r : new CompletionException(failure);
    }
  }

  /** Starts the next feed, or finishes the blob when all listed parts are in. */
  private void kick() {
    if (order.feeding() || failure != null || state == State.ENDED) {
      return;
    }
    WaitingPart next = order.takeNext();
    if (next != null) {
      new SpoolFeeder(this, upload, spool, next).start();
      return;
    }
    if (state == State.COMPLETING && order.allFed(lastPart) && !finishing) {
      finishing = true;
      CompletableFuture<Completed> done = completion;
      int parts = lastPart;
      String etag = objectETag;
      upload
          .finish()
          .whenComplete(
              (blob, e) -> {
                if (e != null) {
                  failed(Causes.of(e));
                  return;
                }
                synchronized (this) {
                  if (state == State.COMPLETING) {
                    state = State.BLOB_DONE;
                  }
                }
                done.complete(new Completed(blob, etag, parts));
              });
    }
  }

  private void end(String why, Throwable abortCause) {
    List<PartSink> sinks;
    CompletableFuture<Completed> c;
    synchronized (this) {
      if (state == State.ENDED) {
        return;
      }
      state = State.ENDED;
      endedWhy = why;
      sinks = new ArrayList<>(active);
      active.clear();
      order.discardWaiting(spool);
      c = completion;
    }
    S3Rejected.NoSuchUpload gone = new S3Rejected.NoSuchUpload("the multipart upload " + why);
    for (PartSink s : sinks) {
      s.abort(gone);
    }
    if (abortCause != null) {
      upload.abort(abortCause);
    }
    if (c != null && !c.isDone()) {
      c.completeExceptionally(gone);
    }
    onEnd.accept(this);
  }

  // --- small helpers ----------------------------------------------------------------------------

  /** Why a part cannot be taken: the upload ended. */
  S3Rejected.NoSuchUpload gone() {
    return new S3Rejected.NoSuchUpload(
        "the multipart upload " + (endedWhy == null ? "was aborted" : endedWhy));
  }

  /** For an answer to the client: a registry's own text is left out (see RegistryException). */
  static String oneLine(Throwable t) {
    String m = t instanceof OrancException o ? o.publicMessage() : t.getMessage();
    m = m == null ? t.getClass().getSimpleName() : m;
    m = m.replaceAll("[\\r\\n\\t]+", " ");
    return m.length() > 200 ? m.substring(0, 200) + "…" : m;
  }
}
