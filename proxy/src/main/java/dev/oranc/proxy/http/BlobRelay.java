package dev.oranc.proxy.http;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.BlobConsumer;
import dev.oranc.common.registry.BlobDownload;
import dev.oranc.common.registry.StoredFile;
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
 * </ul>
 *
 * Every method runs on the client channel's event loop.
 */
final class BlobRelay implements BlobConsumer {

  private final ChannelHandlerContext ctx;
  private final BlobDownload download;
  private final StoredFile file;
  private final ServerMetrics metrics;
  private final Runnable onDone;
  private final Consumer<Throwable> onFailure;
  private long relayed;
  private boolean paused;
  private boolean finished;

  BlobRelay(
      ChannelHandlerContext ctx, BlobDownload download, StoredFile file, ServerMetrics metrics,
      Runnable onDone, Consumer<Throwable> onFailure) {
    this.ctx = ctx;
    this.download = download;
    this.file = file;
    this.metrics = metrics;
    this.onDone = onDone;
    this.onFailure = onFailure;
  }

  void start() {
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    DownloadHandler.fileHeaders(head.headers(), file);
    metrics.downloads().incrementAndGet();
    ctx.writeAndFlush(head).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    download.start(this);
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
    relayed += data.readableBytes();
    if (relayed > file.size()) {
      data.release();
      fail(new RegistryException.Protocol(
          "GET blob " + file.repository() + "@" + file.digest(),
          "the registry sent more than the " + file.size() + " bytes of the manifest"));
      return;
    }
    ctx.writeAndFlush(new DefaultHttpContent(data)).addListener(writeListener);
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
    if (relayed != file.size()) {
      fail(new RegistryException.Protocol(
          "GET blob " + file.repository() + "@" + file.digest(),
          "the registry sent " + relayed + " of the " + file.size() + " bytes of the manifest"));
      return;
    }
    finished = true;
    metrics.downloads().decrementAndGet();
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
    metrics.downloads().decrementAndGet();
    download.cancel();
    onFailure.accept(error);
  }

  /** The client has gone: stop the registry stream now. */
  void cancel() {
    if (finished) {
      return;
    }
    finished = true;
    metrics.downloads().decrementAndGet();
    download.cancel();
  }

  long relayed() {
    return relayed;
  }
}
