package dev.oranc.proxy.request;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

/**
 * One request at a time per connection. HTTP/1.1 lets a client pipeline requests; the handlers
 * after this one are written for one exchange at a time, so a request that arrives while the
 * previous response is still being produced is held here (with reading paused, so at most one
 * read's worth is held) and let through once that response has been written.
 *
 * <p>Also the place that knows when a response ends: while the server is draining for shutdown,
 * responses go out with {@code Connection: close}, so each connection closes after its exchange.
 */
public final class PipeliningGate extends ChannelDuplexHandler {

  private final BooleanSupplier draining;
  private final ArrayDeque<Object> held = new ArrayDeque<>();

  /** A request has been let through and its response is not complete. */
  private boolean inFlight;

  /** The request let through is still receiving its body. */
  private boolean requestOpen;

  private boolean releaseScheduled;

  public PipeliningGate(BooleanSupplier draining) {
    this.draining = draining;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!held.isEmpty() || mustHold()) {
      held.add(msg);
      ctx.channel().config().setAutoRead(false);
      return;
    }
    admit(ctx, msg);
  }

  private boolean mustHold() {
    return inFlight && !requestOpen;
  }

  private void admit(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest) {
      inFlight = true;
      requestOpen = true;
    }
    if (msg instanceof LastHttpContent) {
      requestOpen = false;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    boolean interim =
        msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL;
    if (!interim && msg instanceof HttpResponse r && draining.getAsBoolean()) {
      HttpUtil.setKeepAlive(r, false);
    }
    if (!interim && msg instanceof LastHttpContent && draining.getAsBoolean()) {
      // A response that began before the drain carries no Connection: close; end it here.
      ctx.write(msg, promise.unvoid()).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.write(msg, promise);
    }
    if (!interim && msg instanceof LastHttpContent) {
      inFlight = false;
      scheduleRelease(ctx);
    }
  }

  /** Later, not now: the write may come from inside the previous request's channelRead. */
  private void scheduleRelease(ChannelHandlerContext ctx) {
    if (releaseScheduled) {
      return;
    }
    releaseScheduled = true;
    ctx.executor().execute(() -> release(ctx));
  }

  private void release(ChannelHandlerContext ctx) {
    releaseScheduled = false;
    while (!held.isEmpty() && !mustHold() && ctx.channel().isActive()) {
      admit(ctx, held.poll());
    }
    if (held.isEmpty()
        && !mustHold()
        && ctx.channel().isActive()
        && !ctx.channel().config().isAutoRead()) {
      Exchange e = Exchange.current(ctx.channel());
      // An upload pauses reading on its own; its body is still open then, and it resumes itself.
      if (e == null || !e.readingPaused) {
        ctx.channel().config().setAutoRead(true);
      }
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    Object m;
    while ((m = held.poll()) != null) {
      ReferenceCountUtil.release(m);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    Object m;
    while ((m = held.poll()) != null) {
      ReferenceCountUtil.release(m);
    }
  }
}
