package dev.oranc.common.registry;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.transport.Origin;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * One {@code PATCH} of an upload session ({@link BlobUpload}): {@code length} bytes at {@code
 * offset}, or, open-ended, everything up to the end of the body. It is a {@link Call} whose {@link
 * StreamedBody} is fed from the upload's queue as the queue fills; {@link CallRunner} sends it
 * once. The outcome is the session's location for what follows, or the failure, said in the
 * upload's terms. Used on the upload's event loop only.
 */
final class UploadPatch implements StreamedBody {

  /** The length of an open-ended PATCH: it carries everything up to the end of the body. */
  static final long OPEN_ENDED = Long.MAX_VALUE;

  /** The largest answer to a PATCH read; a longer one fails the upload. */
  private static final int MAX_ANSWER = 64 * 1024;

  private final RegistryClient client;
  private final RepositoryRef repository;
  private final Credentials credentials;
  private final ChunkQueue queue;
  private final BooleanSupplier bodyEnded;
  private final Runnable writabilityChanged;
  private final URI location;
  private final long offset;
  private final long length;
  private long remaining;

  /** Bytes this PATCH has carried so far. */
  private long written;

  /** Where the bytes go once the head is out; null until then. */
  private Sink sink;

  private CompletableFuture<Response> call;
  private final CompletableFuture<URI> next = new CompletableFuture<>();

  /**
   * @param bodyEnded whether the producer has finished (ends an open-ended PATCH)
   * @param writabilityChanged runs when {@link #isWritable()} may have changed
   */
  UploadPatch(
      RegistryClient client,
      RepositoryRef repository,
      Credentials credentials,
      ChunkQueue queue,
      BooleanSupplier bodyEnded,
      Runnable writabilityChanged,
      URI location,
      long offset,
      long length) {
    this.client = client;
    this.repository = repository;
    this.credentials = credentials;
    this.queue = queue;
    this.bodyEnded = bodyEnded;
    this.writabilityChanged = writabilityChanged;
    this.location = location;
    this.offset = offset;
    this.length = length;
    this.remaining = length;
  }

  private boolean openEnded() {
    return length == OPEN_ENDED;
  }

  /** Bytes this PATCH has carried so far. */
  long written() {
    return written;
  }

  private String describe() {
    return openEnded()
        ? "PATCH " + repository + " upload bytes from " + offset
        : "PATCH " + repository + " upload bytes " + offset + "-" + (offset + length - 1);
  }

  /**
   * Sends the PATCH: the session's next location once the registry has taken its bytes, or the
   * failure. Completes on {@code loop}, as the answer arrives.
   */
  CompletableFuture<URI> send(EventLoop loop) {
    HttpHeaders headers =
        new DefaultHttpHeaders()
            .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
    if (openEnded()) {
      // The length is not known until the producer finishes: chunked transfer encoding, which
      // the CNCF registry takes in one PATCH of any size (Docker pushes layers this way).
      headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    } else {
      headers
          .set(HttpHeaderNames.CONTENT_LENGTH, length)
          .set(HttpHeaderNames.CONTENT_RANGE, offset + "-" + (offset + length - 1));
    }
    Origin origin = Origin.of(location);
    // Credentials only to the registry itself, as for the session's other requests.
    Credentials auth = origin.equals(client.registryOrigin(repository)) ? credentials : null;
    call =
        client.run(
            new Call(
                describe(),
                HttpMethod.PATCH,
                origin,
                BlobUpload.pathAndQuery(location),
                headers,
                null,
                auth,
                RegistryClient.push(repository),
                false,
                MAX_ANSWER,
                false,
                loop,
                this));
    // CallRunner completes on the loop: the answer is taken at once, as the connection gave it.
    call.whenComplete(
        (r, error) -> {
          if (loop.inEventLoop()) {
            answered(r, error);
          } else {
            loop.execute(() -> answered(r, error));
          }
        });
    return next;
  }

  /** Gives up: the exchange ends and its connection closes, if it has one yet. */
  void cancel() {
    if (call != null) {
      call.cancel(false);
    }
  }

  /** False while the connection cannot take more (see {@link Sink#isWritable()}). */
  boolean isWritable() {
    return sink == null || sink.isWritable();
  }

  @Override
  public void start(Sink sink) {
    this.sink = sink;
    feed();
    writabilityChanged.run();
  }

  @Override
  public void onWritabilityChanged() {
    writabilityChanged.run();
  }

  /** Moves queued bytes into this PATCH, up to its length, once its head is out. */
  void feed() {
    if (sink == null || !sink.isOpen() || remaining == 0) {
      return;
    }
    boolean wrote = false;
    while (remaining > 0 && !queue.isEmpty()) {
      ByteBuf piece = queue.take(remaining);
      int n = piece.readableBytes();
      remaining -= n;
      written += n;
      sink.write(piece);
      wrote = true;
    }
    if (openEnded() && bodyEnded.getAsBoolean() && queue.isEmpty()) {
      remaining = 0;
    }
    if (remaining == 0) {
      sink.end();
    } else if (wrote) {
      sink.flush();
    }
  }

  private void answered(Response r, Throwable error) {
    if (error != null) {
      next.completeExceptionally(RegistryErrors.fromFailure(describe(), Causes.of(error)));
      return;
    }
    if (r.status() != 202 || remaining > 0) {
      RegistryException e = RegistryErrors.fromResponse(describe(), r, credentials);
      if (r.status() == 416) {
        e =
            new RegistryException.Protocol(
                describe(),
                "the registry refused the chunk (416 Range Not Satisfiable); it may take only"
                    + " smaller PATCH bodies than "
                    + client.config().uploadChunkBytes()
                    + " bytes");
      }
      next.completeExceptionally(e);
      return;
    }
    String nextLocation = r.headers().get(HttpHeaderNames.LOCATION);
    if (nextLocation == null) {
      next.completeExceptionally(
          new RegistryException.Protocol(describe(), "the registry's 202 has no Location"));
      return;
    }
    String range = r.headers().get(HttpHeaderNames.RANGE);
    long end = offset + written - 1;
    if (range != null && !range.endsWith("-" + end)) {
      next.completeExceptionally(
          new RegistryException.Protocol(
              describe(),
              "the registry's Range is not the bytes 0-" + end + " we sent",
              range,
              null));
      return;
    }
    next.complete(location.resolve(nextLocation));
  }
}
