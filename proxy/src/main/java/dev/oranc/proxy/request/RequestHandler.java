package dev.oranc.proxy.request;

import dev.oranc.common.error.Causes;
import dev.oranc.proxy.error.Rejection;
import dev.oranc.proxy.error.RequestRejected;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.function.Consumer;
import org.slf4j.Logger;

/**
 * The skeleton of a handler that answers requests ({@link DownloadHandler}, {@link UploadHandler},
 * {@link ServiceHandler}, {@code s3.MultipartHandler}), as {@code s3.S3BodyFilter} is of the
 * filters on a body.
 *
 * <p>Design note. Each of those handlers used to keep its own copy of the same bookkeeping, each
 * subtly different: which request is current, dropping a body it does not want, releasing what a
 * request holds when the client goes or an error comes down the pipeline, pausing the client while
 * a sink is full, and running registry callbacks on the channel's loop without losing a throw. It
 * lives here once, around one {@link Request} per request:
 *
 * <ul>
 *   <li>A routed head that {@link #accept} takes becomes the current request and {@link
 *       Request#start}s; every other message this handler does not own passes on.
 *   <li>The body comes to {@link Request#body}, piece by piece, while the request is unanswered;
 *       once it is answered (or refused) the rest is released here, so a body is never leaked nor
 *       read as the next request. {@link Request#body} owns each piece it is given.
 *   <li>An error coming down the pipeline while the body arrives (a body filter's refusal, a reset)
 *       fails the request: {@link Request#bodyFailed}, then {@link Request#fail}. Once the request
 *       has been answered, a body filter's refusal ({@code s3.S3Rejected}) is dropped, since that
 *       answer went out already; any other error passes on.
 *   <li>Every request ends once: with {@link Request#respond}, with an error ({@link Request#fail},
 *       {@link Request#answerWith}), with an answer written by other means ({@link
 *       Request#answeredDirectly}: a relay), or when the client goes first ({@link
 *       Request#clientGone}). Then reading is resumed if the request paused it, and {@link
 *       Request#ended} releases what it holds (permits, gauges, buffers).
 *   <li>Back-pressure on a body: {@link Request#throttle} stops reading the client while the sink
 *       cannot take more, and resumes when it can. Back-pressure on an answer: the client channel's
 *       writability goes to {@link Request#writabilityChanged}.
 *   <li>Registry callbacks come back through {@link Request#onLoop}: on the channel's loop, and
 *       guarded, since a throw inside a future's completion would be lost and the client left
 *       waiting. Before the answer it fails the request (so every request is answered); after it,
 *       it is logged.
 * </ul>
 *
 * A subclass says what it does: which heads it takes ({@link #accept}), how a request starts, and,
 * if it wants the body, what it does with each piece; plus what it must release when the request
 * ends. Everything runs on the channel's event loop.
 */
public abstract class RequestHandler extends ChannelInboundHandlerAdapter {

  private final Logger log;

  /** The last request taken: unanswered, or answered with its body still arriving, or done. */
  private Request latest;

  /**
   * @param log the subclass's logger: what goes wrong after an answer is logged there
   */
  protected RequestHandler(Logger log) {
    this.log = log;
  }

  /** The request {@code routed} starts here; null when it is not this handler's (it passes on). */
  protected abstract Request accept(ChannelHandlerContext ctx, RoutedRequest routed);

  @Override
  public final void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof RoutedRequest routed) {
      Request r = accept(ctx, routed);
      if (r != null) {
        latest = r;
        r.start();
        return;
      }
    } else if (msg instanceof HttpContent content && latest != null && latest.receiving) {
      Request r = latest;
      boolean last = msg instanceof LastHttpContent;
      if (last) {
        r.receiving = false;
      }
      if (r.answered) {
        content.release();
      } else {
        r.body(content, last);
      }
      return;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public final void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Request r = latest;
    if (r == null || !r.receiving) {
      ctx.fireExceptionCaught(cause);
      return;
    }
    // A body found bad on its way here (aws-chunked framing, a checksum): the request fails.
    r.receiving = false;
    if (r.answered) {
      if (!bodyRefusal(cause)) {
        ctx.fireExceptionCaught(cause);
      }
      return;
    }
    r.bodyFailed(cause);
    r.fail(cause);
  }

  /**
   * A refusal from an S3 body filter ({@code s3.S3Rejected}: the {@link Rejection}s that are not
   * {@link RequestRejected}s), which the body filters below the handlers fire down the pipeline.
   */
  private static boolean bodyRefusal(Throwable cause) {
    return cause instanceof Rejection && !(cause instanceof RequestRejected);
  }

  @Override
  public final void channelInactive(ChannelHandlerContext ctx) {
    Request r = latest;
    if (r != null && !r.answered) {
      try {
        r.clientGone();
      } finally {
        r.end();
      }
    }
    ctx.fireChannelInactive();
  }

  @Override
  public final void channelWritabilityChanged(ChannelHandlerContext ctx) {
    Request r = latest;
    if (r != null && !r.answered) {
      r.writabilityChanged();
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** One request, from its head to its answer. */
  protected abstract class Request {
    protected final ChannelHandlerContext ctx;
    protected final HttpRequest request;
    protected final EventLoop loop;

    /** What the access log prints; also where the body's MD5 and the paused reading are kept. */
    final Exchange exchange;

    private boolean receiving = true;
    private boolean answered;

    protected Request(ChannelHandlerContext ctx, HttpRequest request) {
      this.ctx = ctx;
      this.request = request;
      Exchange e = Exchange.current(ctx.channel());
      this.exchange = e != null ? e : new Exchange(request.method().name(), "?", System.nanoTime());
      this.loop = ctx.channel().eventLoop();
    }

    /** Called once, with the head; may answer at once. */
    protected abstract void start();

    /**
     * A piece of the body, which this method now owns; {@code last}: the body has ended. Only while
     * the request is unanswered. The default drops it.
     */
    protected void body(HttpContent content, boolean last) {
      content.release();
    }

    /** The body was found bad before it reached us: {@link #fail} follows with the error. */
    protected void bodyFailed(Throwable cause) {}

    /** The client left before the answer: {@link #ended} follows. */
    protected void clientGone() {}

    /** The client channel's writability changed while the request is unanswered. */
    protected void writabilityChanged() {}

    /** The request has ended, however (answered, failed, client gone): release what it holds. */
    protected void ended() {}

    /** The request in a log line, after the channel id. */
    protected String describe() {
      return exchange.method + " " + exchange.path;
    }

    /** The answer, or the error that becomes it, has gone out; or the client is gone. */
    protected final boolean isAnswered() {
      return answered;
    }

    /** The body is still arriving. */
    protected final boolean isReceiving() {
      return receiving;
    }

    /** Runs {@code r} on the channel's loop, guarded (see the class comment). */
    protected final void onLoop(Runnable r) {
      if (loop.inEventLoop()) {
        guarded(r);
      } else {
        loop.execute(() -> guarded(r));
      }
    }

    private void guarded(Runnable r) {
      try {
        r.run();
      } catch (RuntimeException | Error e) {
        if (!answered) {
          fail(e);
        } else {
          // Answered already (or the client is gone): nothing left to tell it.
          log.warn("{}: {}: after the answer: {}", ctx.channel().id(), describe(), e.toString(), e);
        }
      }
    }

    /**
     * Fails the request with {@code error}, unless it has been answered. A subclass that must undo
     * something first (abort an upload) overrides this and ends with {@link #answerWith}.
     */
    protected void fail(Throwable error) {
      answerWith(error);
    }

    /** Hands {@code error} on as the answer (to {@code ErrorResponseHandler}), unless answered. */
    protected final void answerWith(Throwable error) {
      if (answered) {
        return;
      }
      end();
      ctx.fireExceptionCaught(Causes.of(error));
    }

    /** Writes {@code response} as the answer; released instead when the request has one already. */
    protected final void respond(FullHttpResponse response) {
      if (answered) {
        response.release();
        return;
      }
      end();
      ctx.writeAndFlush(response);
    }

    /** The answer was written by other means (a relay) and is complete. */
    protected final void answeredDirectly() {
      if (!answered) {
        end();
      }
    }

    private void end() {
      answered = true;
      exchange.resumeReading(ctx.channel());
      ended();
    }

    /** Sends {@code 100 Continue} now, if the client expects it (for handlers before that one). */
    protected final void expectContinue() {
      ExpectContinueHandler.answer(ctx, request);
    }

    /**
     * Stops reading the client while the body's sink cannot take more ({@code writable} false), to
     * resume when it tells {@code whenWritable}'s callback. Memory per request is then bounded by
     * the sink's queue plus one read.
     */
    protected final void throttle(boolean writable, Consumer<Runnable> whenWritable) {
      if (!writable && !answered && !exchange.readingPaused) {
        exchange.pauseReading(ctx.channel());
        whenWritable.accept(() -> onLoop(this::resumeReading));
      }
    }

    protected final void resumeReading() {
      exchange.resumeReading(ctx.channel());
    }

    /** The body's MD5, once it has all arrived through the S3 checks; else null. */
    protected final byte[] bodyMd5() {
      return exchange.bodyMd5;
    }

    /** Body bytes read so far. */
    protected final long bytesIn() {
      return exchange.bytesIn;
    }

    /** The request's path, without its query. */
    protected final String path() {
      return exchange.path;
    }

    /** True when the request is signed for S3: its answers take S3's shape. */
    protected final boolean signedForS3() {
      return exchange.s3;
    }

    /** For the access log: how the key's layer was found ({@code hit}, {@code miss}). */
    protected final void logLayer(String outcome) {
      exchange.layer = outcome;
    }

    /** What {@link #logLayer} noted, {@code -} until then. */
    protected final String loggedLayer() {
      return exchange.layer;
    }

    /** For the access log: how the body was obtained ({@code hit}, {@code stream}…). */
    protected final void logBody(String outcome) {
      exchange.body = outcome;
    }

    /** For the access log: how the exchange ended when it is not plain ({@code upstream}…). */
    protected final void logNote(String note) {
      exchange.note = note;
    }
  }
}
