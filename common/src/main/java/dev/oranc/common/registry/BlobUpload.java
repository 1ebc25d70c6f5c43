package dev.oranc.common.registry;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.net.URI;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A blob upload whose bytes are produced as it goes: a NAR being compressed, or the body of a PUT
 * still arriving from a client. Neither the whole body nor a temporary file is ever needed.
 *
 * <p>Design note. The OCI distribution protocol for this is {@code POST} (open a session), then
 * {@code PATCH}es with {@code Content-Range} carrying consecutive pieces, then {@code PUT ?digest=}
 * to close it. Each PATCH carries at most {@code uploadChunkBytes} (ghcr.io refuses more than 4
 * MiB). When the total size is known and large, a PATCH's head goes out as soon as its first bytes
 * are here and the bytes are relayed as they arrive; when the size is unknown, a chunk is gathered
 * first, since a PATCH must say its length up front. The SHA-256 the final PUT names is computed on
 * the way. A body that is all in memory when it ends (small, or the size was unknown and it fit in
 * one chunk) goes up in one {@code PUT} instead, after a {@code HEAD} that skips the upload when
 * the registry already has the blob.
 *
 * <p>Flow control: {@link #isWritable()} turns false while more than a bounded amount waits to be
 * sent (the producer pauses; {@link #whenWritable} wakes it). So memory per upload is bounded by
 * about two chunks at worst, and by the socket's write buffer when the size is known.
 *
 * <p>Every request goes through {@link CallRunner} like any other (auth, logging, connection
 * policy); each PATCH is an {@link UploadPatch}, a {@link Call} whose streamed body is fed from the
 * upload's queue. A PATCH that fails cannot be sent again (its bytes are gone), so the runner sends
 * it once and hands back whatever answer came: the upload fails as a whole and the caller, who can
 * produce the body again, starts a new one. All state is touched on one event loop; the public
 * methods may be called from any thread.
 */
public final class BlobUpload {

  private static final Logger log = LoggerFactory.getLogger(BlobUpload.class);

  /** How much may wait between PATCHes when streaming a body of known size. */
  private static final int STREAMING_QUEUE_LIMIT = 256 * 1024;

  private final RegistryClient client;
  private final RepositoryRef repository;
  private final Credentials credentials;
  private final EventLoop loop;
  private final long declaredSize;
  private final String mediaType;
  private final boolean streaming;
  private final int chunkBytes;

  /** {@code uploadChunkBytes} 0: one PATCH carries the whole body, as it comes. */
  private final boolean unbounded;

  private final String operation;

  private final MessageDigest sha256 = Digest.newSha256();
  private final ChunkQueue queue = new ChunkQueue();
  private long received;
  private long sent;
  private URI location;
  private boolean opening;
  private UploadPatch patch;
  private boolean finishing;
  private Digest digest;
  private Throwable failure;
  private final CompletableFuture<Descriptor> result = new CompletableFuture<>();
  private final CompletableFuture<Descriptor> described = new CompletableFuture<>();
  private final List<Runnable> writabilityWaiters = new ArrayList<>();

  /** Bytes written from other threads that the loop has not taken yet. */
  private final AtomicLong inTransit = new AtomicLong();

  /** Tasks posted to the loop that have not run yet (see onLoop). */
  private final AtomicInteger posted = new AtomicInteger();

  private final List<CompletableFuture<Void>> openWaiters = new ArrayList<>();
  private volatile boolean writable = true;

  BlobUpload(
      RegistryClient client,
      RepositoryRef repository,
      long declaredSize,
      String mediaType,
      Credentials credentials,
      EventLoop loop) {
    this.client = client;
    this.repository = repository;
    this.credentials = credentials;
    this.loop = loop;
    this.declaredSize = declaredSize;
    this.mediaType = mediaType;
    this.chunkBytes = client.config().uploadChunkBytes();
    this.unbounded = chunkBytes == 0;
    // Known and over the monolithic bound: relay as it arrives (RegistryClientConfig's contract);
    // only bodies up to that bound are gathered for the HEAD-then-one-PUT path.
    this.streaming = declaredSize > client.config().monolithicUploadBytes();
    this.operation = "upload blob to " + repository;
  }

  public EventLoop eventLoop() {
    return loop;
  }

  /** Sends {@code data} (the upload owns it from now on). After a failure it is dropped. */
  public void write(ByteBuf data) {
    if (runsInline()) {
      accept(data);
      return;
    }
    // Counted until the loop takes it, so that isWritable() says no before the loop has caught
    // up (a busy loop would otherwise let a producer on another thread run ahead unbounded).
    int n = data.readableBytes();
    inTransit.addAndGet(n);
    post(
        () -> {
          inTransit.addAndGet(-n);
          accept(data);
          updateWritability();
        });
  }

  private void accept(ByteBuf data) {
    if (failure != null || finishing) {
      data.release();
      if (finishing && failure == null) {
        fail(new IllegalStateException(operation + ": write after finish"));
      }
      return;
    }
    int n = data.readableBytes();
    if (n == 0) {
      data.release();
      return;
    }
    received += n;
    if (declaredSize >= 0 && received > declaredSize) {
      data.release();
      fail(
          new RegistryException.Protocol(
              operation, "the body is longer than the " + declaredSize + " bytes announced"));
      return;
    }
    updateDigest(data);
    queue.add(data);
    pump();
  }

  /**
   * Opens the registry's upload session now rather than when the first PATCH is due, so that the
   * caller learns at once whether the registry takes an upload with these credentials (an S3
   * CreateMultipartUpload does). The body then goes up in PATCHes, however small it is.
   */
  public CompletableFuture<Void> open() {
    CompletableFuture<Void> opened = new CompletableFuture<>();
    onLoop(
        () -> {
          if (failure != null) {
            opened.completeExceptionally(failure);
          } else if (location != null || finishing) {
            opened.complete(null);
          } else {
            openWaiters.add(opened);
            if (!opening) {
              openSession();
            }
          }
        });
    return opened;
  }

  /** False while the producer should wait; see {@link #whenWritable}. */
  public boolean isWritable() {
    // Writes from another thread reach the loop later; counting them here keeps a fast producer
    // from queueing without bound before the loop has seen any of it.
    return writable && inTransit.get() < STREAMING_QUEUE_LIMIT;
  }

  /** Runs {@code r} on the upload's loop once it is writable again, or has failed. */
  public void whenWritable(Runnable r) {
    onLoop(
        () -> {
          // Through updateWritability, so that isWritable() agrees with what wakes r.
          writabilityWaiters.add(r);
          updateWritability();
        });
  }

  /**
   * Ends the body and completes the blob: the descriptor of the stored blob (its digest and size),
   * or the failure.
   */
  public CompletableFuture<Descriptor> finish() {
    onLoop(
        () -> {
          if (failure != null || finishing) {
            return;
          }
          finishing = true;
          if (declaredSize >= 0 && received != declaredSize) {
            fail(
                new RegistryException.Protocol(
                    operation,
                    "the body ended after "
                        + received
                        + " of the "
                        + declaredSize
                        + " bytes announced"));
            return;
          }
          digest = Digest.of(sha256.digest());
          described.complete(new Descriptor(mediaType, digest, received));
          if (location == null && !opening) {
            uploadWhole();
          } else {
            pump();
          }
        });
    return result;
  }

  /** Gives up: releases what is held, closes the PATCH in flight, and ends the session. */
  public void abort(Throwable cause) {
    onLoop(() -> fail(cause));
  }

  /**
   * The blob's digest and size as soon as the body has ended, before the registry has it: what
   * depends only on the digest (the config of the image that will hold it, a narinfo naming it) can
   * go up while the blob completes. Fails when the upload fails before the body ended.
   */
  public CompletableFuture<Descriptor> described() {
    return described;
  }

  /** The result, without finishing. */
  public CompletableFuture<Descriptor> result() {
    return result;
  }

  /**
   * Runs {@code r} on the loop: at once when called there and nothing posted from another thread is
   * still waiting, else after what was posted. Never ahead of a task posted earlier: a finish() on
   * the loop must not overtake the last write() of a producer on another thread, nor a write on the
   * loop the bytes another thread wrote before it.
   */
  private void onLoop(Runnable r) {
    if (runsInline()) {
      r.run();
    } else {
      post(r);
    }
  }

  private boolean runsInline() {
    return loop.inEventLoop() && posted.get() == 0;
  }

  private void post(Runnable r) {
    posted.incrementAndGet();
    loop.execute(
        () -> {
          posted.decrementAndGet();
          r.run();
        });
  }

  private void updateDigest(ByteBuf data) {
    if (data.nioBufferCount() == 1) {
      sha256.update(data.nioBuffer());
    } else {
      for (ByteBuffer b : data.nioBuffers()) {
        sha256.update(b);
      }
    }
  }

  // --- the whole body is in memory: HEAD, then one PUT --------------------------------------

  private void uploadWhole() {
    Descriptor descriptor = new Descriptor(mediaType, digest, received);
    byte[] body = queue.drain();
    client
        .putBlob(repository, body, digest, mediaType, credentials, loop)
        .whenComplete(
            (d, error) -> {
              if (error != null) {
                fail(Causes.of(error));
              } else {
                result.complete(descriptor);
              }
            });
  }

  // --- chunked: POST, PATCH…, PUT ?digest= ----------------------------------------------------

  private void pump() {
    if (failure != null) {
      return;
    }
    if (location == null) {
      // The session is opened only once a PATCH is due: a body that ends before a chunk is full
      // goes up whole (finish), and may not need uploading at all.
      if (!opening && nextPatchLength() > 0) {
        openSession();
      }
      updateWritability();
      return;
    }
    if (patch == null) {
      long length = nextPatchLength();
      if (length > 0) {
        sendPatch(length);
      } else if (finishing && queue.bytes() == 0) {
        complete();
      }
    } else {
      patch.feed();
    }
    updateWritability();
  }

  /** The next PATCH: {@code length} bytes from where the registry's session is. */
  private void sendPatch(long length) {
    UploadPatch p =
        new UploadPatch(
            client,
            repository,
            credentials,
            queue,
            () -> finishing,
            this::updateWritability,
            location,
            sent,
            length);
    patch = p;
    p.send(loop)
        .whenComplete(
            (next, error) -> {
              if (patch != p || failure != null) {
                return;
              }
              if (error != null) {
                fail(Causes.of(error));
                return;
              }
              location = next;
              sent += p.written();
              patch = null;
              pump();
            });
  }

  private long nextPatchLength() {
    long queued = queue.bytes();
    if (queued == 0) {
      return 0;
    }
    if (streaming) {
      return unbounded ? declaredSize - sent : Math.min(chunkBytes, declaredSize - sent);
    }
    if (unbounded) {
      // Past the monolithic bound the body streams in one PATCH of a length not known yet.
      return queued > client.config().monolithicUploadBytes()
          ? UploadPatch.OPEN_ENDED
          : (finishing ? queued : 0);
    }
    if (queued >= chunkBytes) {
      return chunkBytes;
    }
    return finishing ? queued : 0;
  }

  private void openSession() {
    opening = true;
    client
        .openUploadSession(repository, credentials, loop)
        .whenComplete(
            (uri, error) ->
                onLoop(
                    () -> {
                      opening = false;
                      if (error != null) {
                        fail(Causes.of(error));
                        return;
                      }
                      if (failure != null) {
                        // Aborted while the session was being opened: it is not wanted.
                        client.cancelUploadSession(repository, uri, credentials, loop);
                        return;
                      }
                      location = uri;
                      log.debug("{}: session opened", operation);
                      for (CompletableFuture<Void> w : openWaiters) {
                        w.complete(null);
                      }
                      openWaiters.clear();
                      pump();
                    }));
  }

  private void complete() {
    client
        .closeUploadSession(repository, location, digest, credentials, loop)
        .whenComplete(
            (stored, error) ->
                onLoop(
                    () -> {
                      if (error != null) {
                        location = null; // the session is spent either way
                        fail(Causes.of(error));
                        return;
                      }
                      if (stored != null && !stored.equals(digest)) {
                        fail(
                            new IntegrityException(
                                operation
                                    + ": the registry stored another digest than the "
                                    + digest
                                    + " we sent",
                                "it says " + stored));
                        return;
                      }
                      log.debug("{}: {} ({} bytes) stored", operation, digest, received);
                      result.complete(new Descriptor(mediaType, digest, received));
                    }));
  }

  // --- flow control and failure ---------------------------------------------------------------

  private boolean computeWritable() {
    if (failure != null || result.isDone()) {
      return true;
    }
    boolean channelOk = patch == null || patch.isWritable();
    return queue.bytes() + inTransit.get() < queueLimit() && channelOk;
  }

  /** How much may wait to be sent before the producer is told to wait. */
  private long queueLimit() {
    return streaming
        ? STREAMING_QUEUE_LIMIT
        : unbounded ? client.config().monolithicUploadBytes() + STREAMING_QUEUE_LIMIT : chunkBytes;
  }

  private void updateWritability() {
    boolean now = computeWritable();
    writable = now;
    if (now && !writabilityWaiters.isEmpty()) {
      List<Runnable> waiters = new ArrayList<>(writabilityWaiters);
      writabilityWaiters.clear();
      for (Runnable r : waiters) {
        r.run();
      }
    }
  }

  private void fail(Throwable cause) {
    if (failure != null || result.isDone()) {
      return;
    }
    failure = cause;
    queue.clear();
    if (patch != null) {
      patch.cancel();
    }
    patch = null;
    if (location != null) {
      client.cancelUploadSession(repository, location, credentials, loop);
    }
    RegistryException e =
        cause instanceof RegistryException re ? re : RegistryErrors.fromFailure(operation, cause);
    Throwable reported =
        cause instanceof IntegrityException || cause instanceof IllegalStateException ? cause : e;
    result.completeExceptionally(reported);
    described.completeExceptionally(reported);
    for (CompletableFuture<Void> w : openWaiters) {
      w.completeExceptionally(reported);
    }
    openWaiters.clear();
    log.debug("{}: failed after {} of {} bytes: {}", operation, sent, received, cause.getMessage());
    updateWritability();
  }

  static String pathAndQuery(URI uri) {
    return uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
  }
}
