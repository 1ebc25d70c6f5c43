package dev.oranc.proxy.http;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.registry.BlobConsumer;
import dev.oranc.common.registry.BlobDownload;
import dev.oranc.proxy.metrics.ServerMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.function.Consumer;

/**
 * Relays a registry blob to the client, buffer by buffer, without copying.
 *
 * <p>Design note. The registry connection and the client connection share an event loop, so a
 * buffer read from the registry is written to the client as it is ({@code onData} hands over
 * ownership; {@code DefaultHttpContent} passes it on to the socket, which releases it). Flow
 * control both ways, as in Netty's {@code HexDumpProxy} and {@code ChunkedWriteHandler}:
 *
 * <ul>
 *   <li>the client is slower: once the client channel's outbound buffer passes the high water mark
 *       ({@code isWritable()} false) the download is paused, so the registry's bytes wait in the
 *       kernel and TCP slows the registry down; {@code channelWritabilityChanged} resumes it. What
 *       one stream holds is the high water mark plus one read.
 *   <li>the registry is slower: nothing to do, the client simply waits.
 *   <li>the client goes away: {@link #cancel()} closes the registry connection at once.
 *   <li>the registry stream breaks, or sends more or fewer bytes than announced: the client
 *       connection is closed without the last chunk, so with its {@code Content-Length} the client
 *       sees a truncated transfer, never a clean short 200.
 *   <li>a write to the client fails: {@link AccessLogHandler} closes the connection, and the
 *       registry stream is cancelled here (the write's listener, then {@link #cancel()}).
 * </ul>
 *
 * <p>The relay counts itself in {@code oranc_streams_in_flight} from its start to whichever of its
 * ends comes first (complete, failed, cancelled); the count is a {@link ServerMetrics.Stream},
 * whose end is once-only, so a second end is harmless.
 *
 * <p>A range ({@link ByteRange}) is answered 206. The registry was asked for just those bytes; one
 * that answers 206 sends exactly them, one that ignores the range and answers 200 sends the whole
 * blob, of which the bytes before the range are dropped and the download is cancelled once the
 * range is complete.
 *
 * <p>Every method runs on the client channel's event loop.
 */
final class BlobRelay implements BlobConsumer {

  private final ChannelHandlerContext ctx;
  private final BlobDownload download;
  private final StoredFile file;
  private final ByteRange range;
  private final boolean s3;

  /** Bytes the registry sends: the range when it answered 206, else the whole blob. */
  private final long expected;

  /** Bytes the client gets. */
  private final long limit;

  private long received;
  private long skip;
  private final ServerMetrics metrics;
  private final Runnable onDone;
  private final Consumer<Throwable> onFailure;
  private long relayed;
  private boolean paused;
  private boolean finished;

  /** Null until {@link #start()} has written the head. */
  private ServerMetrics.Stream inFlight;

  BlobRelay(
      ChannelHandlerContext ctx,
      BlobDownload download,
      StoredFile file,
      ByteRange range,
      boolean s3,
      ServerMetrics metrics,
      Runnable onDone,
      Consumer<Throwable> onFailure) {
    this.s3 = s3;
    this.ctx = ctx;
    this.download = download;
    this.file = file;
    this.range = range;
    boolean partial = download.status() == 206;
    this.expected = partial ? range.length() : file.size();
    this.limit = range == null ? file.size() : range.length();
    this.skip = range == null || partial ? 0 : range.first();
    this.metrics = metrics;
    this.onDone = onDone;
    this.onFailure = onFailure;
  }

  /**
   * Writes the head and starts the download. Throws (before anything is written or counted) when
   * the head cannot be built; the caller then cancels the relay.
   */
  void start() {
    HttpResponse head =
        new DefaultHttpResponse(
            HttpVersion.HTTP_1_1,
            range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT);
    DownloadHandler.fileHeaders(head.headers(), file, s3);
    if (range != null) {
      head.headers().set(HttpHeaderNames.CONTENT_LENGTH, range.length());
      head.headers().set(HttpHeaderNames.CONTENT_RANGE, range.contentRange());
    }
    inFlight = metrics.downloads().start();
    // A failed write closes the connection (AccessLogHandler); the listener stops the download.
    ctx.writeAndFlush(head).addListener(writeListener);
    download.start(this);
  }

  private void uncount() {
    if (inFlight != null) {
      inFlight.end();
    }
  }

  @Override
  public void onData(ByteBuf data) {
    if (!ctx.executor().inEventLoop()) {
      // Only if the registry connection landed on another loop; order is kept by the loop's queue.
      ctx.executor().execute(() -> onData(data));
      return;
    }
    if (finished) {
      data.release();
      return;
    }
    received += data.readableBytes();
    if (received > expected) {
      data.release();
      // The counts are the log's: how much a registry (or a redirect target) sent is not a
      // client's business.
      fail(
          new RegistryException.Protocol(
              "GET blob " + file.repository() + "@" + file.digest(),
              "the registry sent more bytes than "
                  + (expected == file.size() ? "the manifest says" : "the range"),
              "more than " + expected,
              null));
      return;
    }
    if (skip > 0) {
      int drop = (int) Math.min(skip, data.readableBytes());
      data.skipBytes(drop);
      skip -= drop;
    }
    long room = limit - relayed;
    if (data.readableBytes() > room) {
      data.writerIndex(data.readerIndex() + (int) room);
    }
    if (!data.isReadable()) {
      data.release();
      return;
    }
    relayed += data.readableBytes();
    ctx.writeAndFlush(new DefaultHttpContent(data)).addListener(writeListener);
    if (relayed == limit && expected > limit) {
      // A range cut from a whole blob: the rest is not wanted.
      end();
      return;
    }
    if (!paused && !ctx.channel().isWritable()) {
      paused = true;
      download.pause();
    }
  }

  private final ChannelFutureListener writeListener =
      f -> {
        if (!f.isSuccess()) {
          cancel();
        }
      };

  /** The client channel's writability changed. */
  void writabilityChanged() {
    if (!finished && paused && ctx.channel().isWritable()) {
      paused = false;
      download.resume();
    }
  }

  @Override
  public void onComplete() {
    if (!ctx.executor().inEventLoop()) {
      ctx.executor().execute(this::onComplete);
      return;
    }
    if (finished) {
      return;
    }
    if (received != expected) {
      fail(
          new RegistryException.Protocol(
              "GET blob " + file.repository() + "@" + file.digest(),
              "the registry sent fewer bytes than "
                  + (expected == file.size() ? "the manifest says" : "the range"),
              received + " of " + expected,
              null));
      return;
    }
    end();
  }

  private void end() {
    finished = true;
    uncount();
    if (received < expected) {
      download.cancel();
    }
    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    onDone.run();
  }

  @Override
  public void onError(RegistryException error) {
    if (!ctx.executor().inEventLoop()) {
      ctx.executor().execute(() -> onError(error));
      return;
    }
    if (!finished) {
      fail(error);
    }
  }

  private void fail(Throwable error) {
    finished = true;
    uncount();
    download.cancel();
    onFailure.accept(error);
  }

  /** The client has gone: stop the registry stream now. */
  void cancel() {
    if (finished) {
      return;
    }
    finished = true;
    uncount();
    download.cancel();
  }

  long relayed() {
    return relayed;
  }
}
