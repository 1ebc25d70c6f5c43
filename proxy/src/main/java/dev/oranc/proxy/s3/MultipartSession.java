package dev.oranc.proxy.s3;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.BlobUpload;
import dev.oranc.common.registry.Credentials;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One S3 multipart upload, mapped onto one OCI blob upload session: the parts become the blob's
 * bytes in part-number order, then the blob is completed ({@code PUT ?digest=}) and the caller
 * publishes the manifest.
 *
 * <p>Design note. The registry takes a blob's bytes in order only (PATCHes at consecutive
 * offsets, the digest computed on the way), while S3 clients send several parts at once, in any
 * order. So each part, when its body begins, goes one of three ways:
 *
 * <ul>
 *   <li><b>direct</b>: it is the next part the blob needs and nothing is being fed: its bytes
 *       stream into the {@link BlobUpload} as they arrive, with the upload's flow control (a
 *       client sending parts one at a time never touches the disk);
 *   <li><b>spooled</b>: it is early (or the blob is busy): its bytes go to a file in the {@link
 *       Spool}, within the spool's byte budget ({@link S3Rejected.SlowDown} when that is spent),
 *       and once the part has ended and its turn has come, a feeder reads the file back into the
 *       upload, chunk by chunk, as fast as the upload takes them, and deletes it;
 *   <li><b>duplicate</b>: the part already streamed on (a client retrying): its bytes are dropped
 *       and it is answered with the earlier ETag when its MD5 is the same, else {@link
 *       S3Rejected.InvalidPart}: bytes in the registry's session cannot be taken back.
 * </ul>
 *
 * A direct part that does not end well (the client goes, or its checksum fails) has put bytes
 * into the blob that cannot be removed: the whole upload then fails with {@link
 * S3Rejected.InvalidPart}, and only an abort is left to do. A spooled part that does not end well
 * is simply dropped, and the client may send it again.
 *
 * <p>Because the blob is built in order, the parts must be numbered 1, 2, 3… without gaps (every S3
 * client does so); {@link #complete} checks the client's list against what was stored (order,
 * ETags, nothing missing or extra), waits until the feeder has caught up, and finishes the blob.
 * Memory per upload is the upload's queue (a PATCH of at most 4 MiB) plus what waits for a spool
 * file to be written (about 1 MiB per part being received); the rest is on disk.
 *
 * <p>Threads: a part's bytes arrive on its connection's event loop, the spool's files are written
 * and read on the spool's I/O threads, the registry upload runs on its own loop. The session's
 * state is guarded by its monitor; a part's file by the part's. Lock order: session, then part —
 * a part never calls into the session while holding its own monitor.
 */
public final class MultipartSession {

  private static final Logger log = LoggerFactory.getLogger(MultipartSession.class);

  /** Reading a part back from the spool: how much per read. */
  private static final int FEED_CHUNK = 256 * 1024;
  /** A part being spooled stops its client above this much waiting to be written, ... */
  private static final int SPOOL_HIGH = 1024 * 1024;
  /** ... and resumes it below this much. */
  private static final int SPOOL_LOW = 256 * 1024;
  static final long SLOW_DOWN_SECONDS = 5;


  /** What a part's body is written into while it arrives. */
  public interface PartSink {
    /** Takes {@code data}, which it owns from now on. @throws S3Rejected.SlowDown when the spool is full */
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

  private enum State { OPEN, COMPLETING, BLOB_DONE, ENDED }

  private record Stored(long size, byte[] md5) {}

  /** A part on disk, waiting for its turn; the file is null for an empty part. */
  private record Spooled(int number, Path file, long size, byte[] md5, long reserved) {}

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

  // Guarded by this.
  private State state = State.OPEN;
  private String endedWhy;
  private Throwable failure;
  private long lastUsed;
  private int nextPart = 1;
  /** A direct part or the feeder is writing into the upload. */
  private boolean feeding;
  private int feedingPart;
  private boolean feedingDirect;
  private final TreeMap<Integer, Spooled> waiting = new TreeMap<>();
  private final Map<Integer, Stored> stored = new HashMap<>();
  private final Set<PartSink> active = new LinkedHashSet<>();
  private int lastPart;
  private String objectETag;
  private boolean finishing;
  private CompletableFuture<Completed> completion;

  MultipartSession(
      String id, Credentials credentials, RepositoryRef repository, String key, String contentType,
      String contentEncoding, BlobUpload upload, Spool spool, Ticker ticker, MultipartUploads.Counters counters,
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
    upload.result().whenComplete((d, e) -> {
      if (e != null) {
        failed(unwrap(e));
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
    return repository.equals(repo) && key.equals(k) && fingerprint.equals(credentials.fingerprint());
  }

  /**
   * A part's body is about to arrive.
   *
   * @param declaredLength its length when known (reserved in the spool at once), else -1
   * @throws S3Rejected.NoSuchUpload when the upload has ended; {@link S3Rejected.SlowDown} when
   *     the part must be spooled and the spool is full; the upload's failure when it failed
   */
  public PartSink beginPart(int number, long declaredLength) {
    synchronized (this) {
      requireUsable();
      if (state != State.OPEN) {
        throw new S3Rejected.InvalidPart("part " + number + " arrived while the upload is being completed");
      }
      lastUsed = ticker.read();
      PartSink sink;
      if (number < nextPart || (feeding && feedingPart == number)) {
        sink = new DuplicatePart(number);
      } else if (number == nextPart && !feeding) {
        feeding = true;
        feedingPart = number;
        feedingDirect = true;
        sink = new DirectPart(number);
        counters.direct.increment();
      } else {
        long reserve = Math.max(0, declaredLength);
        if (!spool.reserve(reserve)) {
          throw spoolFull(number);
        }
        sink = new SpooledPart(number, reserve);
        counters.spooled.increment();
      }
      active.add(sink);
      return sink;
    }
  }

  /**
   * CompleteMultipartUpload: checks {@code parts} against what was stored, lets the spooled parts
   * that wait be fed, and finishes the blob. A Complete sent again while this one runs, or after
   * it (its answer lost), gets the same result.
   *
   * @throws S3Rejected.InvalidPartOrder, {@link S3Rejected.InvalidPart} for a list that does not
   *     match; {@link S3Rejected.NoSuchUpload} when the upload has ended
   */
  public CompletableFuture<Completed> complete(List<S3Xml.CompletedPart> parts) {
    synchronized (this) {
      requireUsable();
      lastUsed = ticker.read();
      validate(parts);
      if (state == State.OPEN) {
        state = State.COMPLETING;
        lastPart = parts.size();
        objectETag = objectETag(parts.size());
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
      boolean busy = failure == null && (!active.isEmpty() || feeding || state == State.COMPLETING);
      if (busy) {
        return false;
      }
    }
    log.debug("multipart upload of {} in {} expired", key, repository);
    abort("expired");
    return true;
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

  private void validate(List<S3Xml.CompletedPart> parts) {
    int previous = 0;
    for (S3Xml.CompletedPart p : parts) {
      if (p.number() <= previous) {
        throw new S3Rejected.InvalidPartOrder(
            "the parts must be listed in ascending order; part " + p.number() + " follows part " + previous);
      }
      previous = p.number();
    }
    for (int i = 0; i < parts.size(); i++) {
      S3Xml.CompletedPart p = parts.get(i);
      Stored s = stored.get(p.number());
      if (s == null) {
        throw new S3Rejected.InvalidPart("part " + p.number() + " was not uploaded, or has not finished");
      }
      if (!S3Xml.bareETag(p.etag()).equals(hex(s.md5()))) {
        throw new S3Rejected.InvalidPart(
            "part " + p.number() + " has ETag \"" + hex(s.md5()) + "\", not " + p.etag());
      }
      if (p.number() != i + 1) {
        throw new S3Rejected.InvalidPart(
            "part " + (i + 1) + " is not listed: this server streams the parts into one registry blob in"
                + " order, so they must be numbered 1, 2, 3… without gaps");
      }
    }
    for (int n : stored.keySet()) {
      if (n > parts.size()) {
        throw new S3Rejected.InvalidPart(
            "part " + n + " was uploaded but is not listed: its bytes are in the registry's upload already");
      }
    }
    if (feeding && feedingDirect) {
      throw new S3Rejected.InvalidPart("part " + feedingPart + " is still being uploaded");
    }
  }

  /** Starts the next feed, or finishes the blob when all listed parts are in. */
  private void kick() {
    if (feeding || failure != null || state == State.ENDED) {
      return;
    }
    Spooled next = waiting.remove(nextPart);
    if (next != null) {
      feeding = true;
      feedingPart = next.number();
      feedingDirect = false;
      Feeder f = new Feeder(next);
      spool.execute(f::step);
      return;
    }
    if (state == State.COMPLETING && nextPart > lastPart && !finishing) {
      finishing = true;
      CompletableFuture<Completed> done = completion;
      int parts = lastPart;
      String etag = objectETag;
      upload.finish().whenComplete((blob, e) -> {
        if (e != null) {
          failed(unwrap(e));
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

  /** A part reached the blob. */
  private synchronized void fed(int number, long size) {
    if (state == State.ENDED) {
      return;
    }
    nextPart = number + 1;
    feeding = false;
    feedingDirect = false;
    lastUsed = ticker.read();
    counters.fedBytes.add(size);
    kick();
  }

  /** The registry upload failed, or a direct part broke: no part can be added any more. */
  private void failed(Throwable cause) {
    CompletableFuture<Completed> c;
    synchronized (this) {
      if (state == State.ENDED || failure != null) {
        return;
      }
      failure = cause;
      waiting.values().forEach(this::discard);
      waiting.clear();
      c = completion;
    }
    log.debug("multipart upload of {} in {} failed: {}", key, repository, cause.getMessage());
    upload.abort(cause);
    if (c != null) {
      c.completeExceptionally(cause);
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
      waiting.values().forEach(this::discard);
      waiting.clear();
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

  /** Deletes a spooled part's file (on an I/O thread) and gives its space back. */
  private void discard(Spooled s) {
    if (s.file() != null) {
      spool.execute(() -> Spool.deleteQuietly(s.file()));
    }
    spool.release(s.reserved());
  }

  private S3Rejected.SlowDown spoolFull(int number) {
    return new S3Rejected.SlowDown(
        "part " + number + " arrived before its turn and the multipart spool is full (" + spool.used() + " of "
            + spool.capacity() + " bytes); send it again later", SLOW_DOWN_SECONDS);
  }

  private String objectETag(int parts) {
    MessageDigest md5 = md5();
    for (int n = 1; n <= parts; n++) {
      md5.update(stored.get(n).md5());
    }
    return "\"" + hex(md5.digest()) + "-" + parts + "\"";
  }

  // --- the three kinds of part ---------------------------------------------------------------

  /** The next part, streamed straight into the upload. */
  private final class DirectPart implements PartSink {
    final int number;
    /** Only touched by the part's connection's event loop. */
    long size;

    DirectPart(int number) {
      this.number = number;
    }

    @Override
    public void write(ByteBuf data) {
      size += data.readableBytes();
      upload.write(data);
    }

    @Override
    public boolean isWritable() {
      return upload.isWritable();
    }

    @Override
    public void whenWritable(Runnable r) {
      upload.whenWritable(r);
    }

    @Override
    public CompletableFuture<String> finish(byte[] md5) {
      synchronized (MultipartSession.this) {
        if (!active.remove(this)) {
          return CompletableFuture.failedFuture(gone());
        }
        if (failure != null) {
          return CompletableFuture.failedFuture(failure);
        }
        stored.put(number, new Stored(size, md5));
        fed(number, size);
        return CompletableFuture.completedFuture(quoted(md5));
      }
    }

    @Override
    public void abort(Throwable cause) {
      synchronized (MultipartSession.this) {
        if (!active.remove(this) || state == State.ENDED) {
          return;
        }
      }
      failed(new S3Rejected.InvalidPart(
          "part " + number + " broke off after " + size + " bytes while it was streaming to the registry ("
              + oneLine(cause) + "); this upload cannot be completed: abort it and upload again"));
    }
  }

  /** A part sent again after it streamed on: compared by MD5, never stored. */
  private final class DuplicatePart implements PartSink {
    final int number;

    DuplicatePart(int number) {
      this.number = number;
    }

    @Override
    public void write(ByteBuf data) {
      data.release();
    }

    @Override
    public boolean isWritable() {
      return true;
    }

    @Override
    public void whenWritable(Runnable r) {
      r.run();
    }

    @Override
    public CompletableFuture<String> finish(byte[] md5) {
      synchronized (MultipartSession.this) {
        if (!active.remove(this)) {
          return CompletableFuture.failedFuture(gone());
        }
        Stored s = stored.get(number);
        if (s != null && MessageDigest.isEqual(s.md5(), md5)) {
          return CompletableFuture.completedFuture(quoted(md5));
        }
        return CompletableFuture.failedFuture(new S3Rejected.InvalidPart(
            "part " + number + " was sent to the registry already"
                + (s == null ? " (by another request, still arriving)" : " with other contents")
                + "; a part cannot be replaced once it has streamed on"));
      }
    }

    @Override
    public void abort(Throwable cause) {
      synchronized (MultipartSession.this) {
        active.remove(this);
      }
    }
  }

  /** An early part, written to a spool file; the session feeds it when its turn comes. */
  private final class SpooledPart implements PartSink {
    final int number;
    // Guarded by this part.
    private long reserved;
    private long received;
    private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
    private long pending;
    private boolean writing;
    private boolean finishing;
    private boolean closed;
    private IOException error;
    private Path file;
    private FileChannel channel;
    private byte[] md5;
    private CompletableFuture<String> result;
    private final List<Runnable> waiters = new ArrayList<>();

    SpooledPart(int number, long reserved) {
      this.number = number;
      this.reserved = reserved;
    }

    @Override
    public void write(ByteBuf data) {
      boolean start = false;
      synchronized (this) {
        if (closed) {
          data.release();
          return;
        }
        int n = data.readableBytes();
        if (received + n > reserved) {
          long need = received + n - reserved;
          if (!spool.reserve(need)) {
            data.release();
            throw spoolFull(number);
          }
          reserved += need;
        }
        received += n;
        queue.add(data);
        pending += n;
        if (!writing) {
          writing = true;
          start = true;
        }
      }
      if (start) {
        spool.execute(this::drain);
      }
    }

    @Override
    public synchronized boolean isWritable() {
      return pending < SPOOL_HIGH || closed;
    }

    @Override
    public void whenWritable(Runnable r) {
      synchronized (this) {
        if (pending >= SPOOL_HIGH && !closed) {
          waiters.add(r);
          return;
        }
      }
      r.run();
    }

    /** Writes what is queued to the file, on an I/O thread; one drain at a time. */
    private void drain() {
      while (true) {
        ByteBuf b;
        boolean complete = false;
        List<Runnable> wake = null;
        synchronized (this) {
          if (closed) {
            writing = false;
            break;
          }
          b = queue.poll();
          if (b == null) {
            writing = false;
            complete = finishing;
            wake = takeWaiters();
          }
        }
        if (b == null) {
          run(wake);
          if (complete) {
            complete();
          }
          return;
        }
        int n = b.readableBytes();
        try {
          if (error == null) {
            if (channel == null) {
              file = spool.newFile();
              channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
            for (ByteBuffer nio : b.nioBuffers()) {
              while (nio.hasRemaining()) {
                channel.write(nio);
              }
            }
          }
        } catch (IOException e) {
          synchronized (this) {
            error = e;
          }
        } finally {
          b.release();
        }
        synchronized (this) {
          pending -= n;
          if (pending < SPOOL_LOW) {
            wake = takeWaiters();
          }
        }
        run(wake);
      }
      cleanup();
    }

    private List<Runnable> takeWaiters() {
      if (waiters.isEmpty()) {
        return null;
      }
      List<Runnable> w = new ArrayList<>(waiters);
      waiters.clear();
      return w;
    }

    private void run(List<Runnable> rs) {
      if (rs != null) {
        rs.forEach(Runnable::run);
      }
    }

    @Override
    public CompletableFuture<String> finish(byte[] md5) {
      boolean now;
      synchronized (this) {
        if (closed) {
          return CompletableFuture.failedFuture(gone());
        }
        this.md5 = md5;
        finishing = true;
        result = new CompletableFuture<>();
        now = !writing;
      }
      if (now) {
        spool.execute(this::complete);
      }
      return result;
    }

    /** Everything is written: the file is closed and handed to the session. On an I/O thread. */
    private void complete() {
      IOException e;
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true; // the session owns the file from here
        try {
          if (channel != null) {
            channel.close();
          }
        } catch (IOException c) {
          error = error == null ? c : error;
        }
        channel = null;
        e = error;
      }
      if (e != null) {
        Spool.deleteQuietly(file);
        spool.release(reserved);
        synchronized (MultipartSession.this) {
          active.remove(this);
        }
        result.completeExceptionally(new S3Rejected.SlowDown(
            "part " + number + " could not be written to the multipart spool (" + oneLine(e) + ")", SLOW_DOWN_SECONDS));
        return;
      }
      Spooled s = new Spooled(number, file, received, md5, reserved);
      try {
        result.complete(spooled(this, s));
      } catch (RuntimeException r) {
        result.completeExceptionally(r);
      }
    }

    @Override
    public void abort(Throwable cause) {
      List<ByteBuf> drop;
      List<Runnable> wake;
      boolean cleanNow;
      CompletableFuture<String> r;
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        drop = new ArrayList<>(queue);
        queue.clear();
        pending = 0;
        wake = takeWaiters();
        cleanNow = !writing;
        r = result;
      }
      drop.forEach(ByteBuf::release);
      if (cleanNow) {
        spool.execute(this::cleanup);
      }
      synchronized (MultipartSession.this) {
        active.remove(this);
      }
      run(wake);
      if (r != null) {
        r.completeExceptionally(cause);
      }
    }

    /** After an abort: the file and its space are given up. On an I/O thread. */
    private void cleanup() {
      synchronized (this) {
        try {
          if (channel != null) {
            channel.close();
          }
        } catch (IOException e) {
          // deleted below
        }
        channel = null;
      }
      Spool.deleteQuietly(file);
      spool.release(reserved);
    }
  }

  /** The session takes a spooled part's file: it waits for its turn, or is a duplicate. */
  private String spooled(SpooledPart part, Spooled s) {
    synchronized (this) {
      boolean wasActive = active.remove(part);
      if (!wasActive || state == State.ENDED || failure != null || state != State.OPEN) {
        discard(s);
        if (state == State.ENDED || !wasActive) {
          throw gone();
        }
        requireUsable();
        throw new S3Rejected.InvalidPart("part " + s.number() + " arrived while the upload is being completed");
      }
      if (s.number() < nextPart || (feeding && feedingPart == s.number())) {
        discard(s);
        Stored earlier = stored.get(s.number());
        if (earlier != null && MessageDigest.isEqual(earlier.md5(), s.md5())) {
          return quoted(s.md5());
        }
        throw new S3Rejected.InvalidPart("part " + s.number()
            + " was sent to the registry already with other contents; a part cannot be replaced once it has streamed on");
      }
      Spooled replaced = waiting.put(s.number(), s);
      if (replaced != null) {
        discard(replaced);
      }
      stored.put(s.number(), new Stored(s.size(), s.md5()));
      lastUsed = ticker.read();
      kick();
      return quoted(s.md5());
    }
  }

  /** Reads a spooled part back into the upload, chunk by chunk, on the spool's I/O threads. */
  private final class Feeder {
    final Spooled part;
    FileChannel channel;
    long position;

    Feeder(Spooled part) {
      this.part = part;
    }

    void step() {
      synchronized (MultipartSession.this) {
        if (state == State.ENDED || failure != null) {
          close();
          discard(part);
          return;
        }
      }
      try {
        if (part.file() == null) {
          done();
          return;
        }
        if (channel == null) {
          channel = FileChannel.open(part.file(), StandardOpenOption.READ);
        }
        if (!upload.isWritable()) {
          upload.whenWritable(() -> spool.execute(this::step));
          return;
        }
        // Unpooled: buffers taken from the pooled allocator on these (non event loop) threads and
        // freed on the registry's loop after the PATCH made it hold 90-170 MiB of chunks for a
        // 0.5-1 GiB upload, and ran slower (S3MultipartMemoryIT); one allocation per 256 KiB read
        // costs nothing next to the read and the send.
        ByteBuf buf = Unpooled.directBuffer(FEED_CHUNK);
        int n;
        try {
          n = buf.writeBytes(channel, position, FEED_CHUNK);
        } catch (IOException e) {
          buf.release();
          throw e;
        }
        if (n <= 0) {
          buf.release();
          if (position != part.size()) {
            throw new IOException("the spool file has " + position + " bytes, the part had " + part.size());
          }
          done();
          return;
        }
        position += n;
        upload.write(buf);
        // One chunk at a time, so that parts being spooled get the I/O threads too.
        spool.execute(this::step);
      } catch (IOException e) {
        close();
        discard(part);
        failed(new IllegalStateException(
            "reading part " + part.number() + " back from the multipart spool: " + oneLine(e), e));
      }
    }

    private void done() {
      close();
      discard(part);
      fed(part.number(), part.size());
    }

    private void close() {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException e) {
          // read-only; the file is deleted anyway
        }
        channel = null;
      }
    }
  }

  // --- small helpers ----------------------------------------------------------------------------

  private S3Rejected.NoSuchUpload gone() {
    return new S3Rejected.NoSuchUpload("the multipart upload " + (endedWhy == null ? "was aborted" : endedWhy));
  }

  static String quoted(byte[] md5) {
    return "\"" + hex(md5) + "\"";
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static MessageDigest md5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has MD5", e);
    }
  }

  /** For an answer to the client: a registry's own text is left out (see RegistryException). */
  private static String oneLine(Throwable t) {
    String m = t instanceof dev.oranc.common.error.OrancException o ? o.publicMessage() : t.getMessage();
    m = m == null ? t.getClass().getSimpleName() : m;
    m = m.replaceAll("[\\r\\n\\t]+", " ");
    return m.length() > 200 ? m.substring(0, 200) + "…" : m;
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
