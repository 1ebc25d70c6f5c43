package dev.oranc.common.registry.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One pooled HTTP/1.1 connection to one origin, and the exchange running on it.
 *
 * <p>Design note. The channel runs with {@code AUTO_READ} off: we read only while the current
 * exchange wants data ({@link #demand}). A streaming download turns demand off while its consumer
 * cannot take more, so the registry's bytes wait in the kernel's socket buffer and TCP pushes back
 * on the registry; memory per stream stays at one read's worth. Every method runs on the channel's
 * event loop, so no field needs to be volatile.
 *
 * <p>Timeouts are ours rather than {@code IdleStateHandler}'s, because "idle" depends on the
 * exchange: while a consumer has paused the download, or while we are still sending a request body
 * the registry has taken, silence is expected. We count only the time we are waiting on the
 * registry: for an answer once the request is sent and demand is on, or for it to take bytes we
 * have written ({@link #pendingWrites}).
 */
public final class HttpConnection extends ChannelInboundHandlerAdapter {

  static final String HANDLER_NAME = "oranc-exchange";

  private final ConnectionPool pool;
  private final long timeoutNanos;
  private Channel channel;

  private ResponseListener listener;
  private boolean requestDone;
  private boolean responseStarted;
  private boolean keepAlive;
  private boolean demand;
  private int pendingWrites;
  private long lastProgressNanos;
  private ScheduledFuture<?> timeoutCheck;
  private Runnable writabilityListener;
  private ScheduledFuture<?> idleClose;

  HttpConnection(ConnectionPool pool, long timeoutNanos) {
    this.pool = pool;
    this.timeoutNanos = timeoutNanos;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  public Channel channel() {
    return channel;
  }

  Origin origin() {
    return pool.origin();
  }

  /** The pool this connection belongs to (the map's pool for its origin may since be another). */
  public ConnectionPool pool() {
    return pool;
  }

  boolean isUsable() {
    return channel.isActive() && listener == null;
  }

  /**
   * Starts an exchange: writes the request head (and its body when {@code complete}; otherwise the
   * caller follows with {@link #writeBody}).
   */
  public void send(HttpRequest request, boolean complete, ResponseListener l) {
    assert channel.eventLoop().inEventLoop();
    if (listener != null) {
      ReferenceCountUtil.release(request);
      throw new IllegalStateException("connection to " + origin() + " is busy");
    }
    cancelIdleClose();
    listener = l;
    requestDone = complete;
    responseStarted = false;
    keepAlive = HttpUtil.isKeepAlive(request);
    demand = true;
    writabilityListener = null;
    lastProgressNanos = System.nanoTime();
    track(channel.writeAndFlush(request));
    channel.read();
    scheduleTimeoutCheck(timeoutNanos);
  }

  /** Writes part of a request body; {@code LastHttpContent} ends the request. */
  public ChannelFuture writeBody(HttpContent content, boolean flush) {
    if (listener == null || !channel.isActive()) {
      ReferenceCountUtil.release(content);
      return channel.newFailedFuture(
          new ConnectionFailure(
              ConnectionFailure.Kind.CLOSED,
              "the connection to " + origin() + " ended before the request body was sent",
              responseStarted,
              null));
    }
    if (content instanceof LastHttpContent) {
      requestDone = true;
    }
    ChannelFuture f = flush ? channel.writeAndFlush(content) : channel.write(content);
    track(f);
    return f;
  }

  public boolean isWritable() {
    return channel.isWritable();
  }

  /** Runs (on the loop) when the channel's writability changes during this exchange. */
  public void onWritabilityChanged(Runnable r) {
    writabilityListener = r;
  }

  /** Turns reading on or off for the current exchange (flow control of a streaming response). */
  public void demand(boolean on) {
    if (on == demand) {
      return;
    }
    demand = on;
    if (on) {
      lastProgressNanos = System.nanoTime();
      channel.read();
    }
  }

  /** Hands the rest of the current exchange to another listener. */
  public void replaceListener(ResponseListener l) {
    if (listener == null) {
      throw new IllegalStateException("no exchange on the connection to " + origin());
    }
    listener = l;
  }

  /** Ends the exchange without telling its listener, closing the connection. */
  public void abort() {
    listener = null;
    cancelTimeoutCheck();
    channel.close();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ResponseListener l = listener;
    if (l == null) {
      // Nothing is expected on an idle connection; whatever this is, the connection is unusable.
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    lastProgressNanos = System.nanoTime();
    if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      fail(
          new ConnectionFailure(
              ConnectionFailure.Kind.MALFORMED,
              origin()
                  + " sent a malformed HTTP response: "
                  + o.decoderResult().cause().getMessage(),
              responseStarted,
              o.decoderResult().cause()));
      return;
    }
    if (msg instanceof HttpResponse head) {
      if (head.status().codeClass() == HttpStatusClass.INFORMATIONAL
          && !head.status().equals(HttpResponseStatus.SWITCHING_PROTOCOLS)) {
        // An interim answer (100 Continue): the real one follows. Netty sends its empty last
        // content after it, which we drop below.
        ReferenceCountUtil.release(msg);
        return;
      }
      responseStarted = true;
      keepAlive &= HttpUtil.isKeepAlive(head);
      l.onHead(head);
      // The listener may have ended the exchange, or handed the rest of it to another listener.
      l = listener;
      if (l == null) {
        ReferenceCountUtil.release(msg);
        return;
      }
    }
    if (msg instanceof HttpContent content) {
      if (!responseStarted) {
        content.release();
        return;
      }
      boolean last = content instanceof LastHttpContent;
      if (content.content().isReadable()) {
        l.onContent(content.content());
      } else {
        content.release();
      }
      if (last && listener == l) {
        end();
      }
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (listener == null || demand) {
      // Idle connections keep a read pending too, so that a close by the registry is noticed.
      ctx.read();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    Runnable r = writabilityListener;
    if (r != null) {
      r.run();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelIdleClose();
    pool.closed(this);
    if (listener != null) {
      fail(
          new ConnectionFailure(
              ConnectionFailure.Kind.CLOSED,
              responseStarted
                  ? origin() + " closed the connection before the response was complete"
                  : origin() + " closed the connection without answering",
              responseStarted,
              null));
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (listener != null) {
      fail(
          new ConnectionFailure(
              ConnectionFailure.Kind.CLOSED,
              "connection to " + origin() + " failed: " + cause.getMessage(),
              responseStarted,
              cause));
    } else {
      ctx.close();
    }
  }

  private void end() {
    ResponseListener l = listener;
    listener = null;
    writabilityListener = null;
    cancelTimeoutCheck();
    if (requestDone && keepAlive && pendingWrites == 0 && channel.isActive()) {
      pool.release(this);
    } else {
      channel.close();
    }
    l.onEnd();
  }

  private void fail(ConnectionFailure cause) {
    ResponseListener l = listener;
    listener = null;
    writabilityListener = null;
    cancelTimeoutCheck();
    channel.close();
    if (l != null) {
      l.onError(cause);
    }
  }

  private void track(ChannelFuture f) {
    pendingWrites++;
    f.addListener(
        (ChannelFutureListener)
            future -> {
              pendingWrites--;
              lastProgressNanos = System.nanoTime();
              if (!future.isSuccess() && listener != null) {
                fail(
                    new ConnectionFailure(
                        ConnectionFailure.Kind.CLOSED,
                        "sending to " + origin() + " failed: " + future.cause().getMessage(),
                        responseStarted,
                        future.cause()));
              }
            });
  }

  private boolean waitingOnPeer() {
    return pendingWrites > 0 || (requestDone && demand);
  }

  private void scheduleTimeoutCheck(long delayNanos) {
    cancelTimeoutCheck();
    timeoutCheck =
        channel
            .eventLoop()
            .schedule(this::checkTimeout, Math.max(delayNanos, 1), TimeUnit.NANOSECONDS);
  }

  private void checkTimeout() {
    timeoutCheck = null;
    if (listener == null) {
      return;
    }
    long waited = System.nanoTime() - lastProgressNanos;
    if (waitingOnPeer() && waited >= timeoutNanos) {
      fail(
          new ConnectionFailure(
              ConnectionFailure.Kind.TIMEOUT,
              origin()
                  + (pendingWrites > 0 ? " took no data from us for " : " sent nothing for ")
                  + TimeUnit.NANOSECONDS.toSeconds(waited)
                  + " s",
              responseStarted,
              null));
      return;
    }
    scheduleTimeoutCheck(waitingOnPeer() ? timeoutNanos - waited : timeoutNanos);
  }

  private void cancelTimeoutCheck() {
    if (timeoutCheck != null) {
      timeoutCheck.cancel(false);
      timeoutCheck = null;
    }
  }

  void scheduleIdleClose(long idleNanos) {
    cancelIdleClose();
    idleClose =
        channel
            .eventLoop()
            .schedule(
                () -> {
                  idleClose = null;
                  if (listener == null) {
                    channel.close();
                  }
                },
                idleNanos,
                TimeUnit.NANOSECONDS);
  }

  private void cancelIdleClose() {
    if (idleClose != null) {
      idleClose.cancel(false);
      idleClose = null;
    }
  }
}
