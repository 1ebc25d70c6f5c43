package dev.oranc.common.registry;

import dev.oranc.common.registry.throttle.AimdLimiter;
import dev.oranc.common.registry.transport.HttpConnection;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One {@link Call} on its way through {@link CallRunner}: where it is sent now, how many attempts,
 * redirects and auth steps it has taken, the place it holds in its origin's window, and its
 * streamed exchange.
 *
 * <p>Design note. It lives on the call's event loop: every field is read and written there, which
 * is why it needs no locks; only {@link #result} is completed or cancelled from elsewhere. It is
 * the {@link AimdLimiter.Waiter} the window starts when there is room, and starting hands it back
 * to {@link CallRunner#send}.
 */
final class CallState implements AimdLimiter.Waiter {
  private final CallRunner runner;
  final Call call;
  final EventLoop loop;
  final CompletableFuture<Response> result = new CompletableFuture<>();
  Origin origin;
  String pathAndQuery;
  boolean sameOrigin = true;
  int attempts;
  int redirects;

  /** Re-sent after a 401 taught us how to authenticate; once per call. */
  boolean learnt;

  /** Re-sent after a 401 refused our token, with a fresh one; once per call. */
  boolean refreshed;

  String authorizationSent;
  long startNanos;

  /** The window this attempt holds a place in, and since when; null when it holds none. */
  AimdLimiter limiter;

  long grantedNanos;
  boolean limited;

  /** Rate-limit answers to this call, for the backoff of a call outside the windows. */
  int rateLimitedCount;

  /** The window the call last asked to start in. */
  AimdLimiter admitting;

  /** When the call was first held back by a rate limit ({@link #throttled}). */
  boolean throttled;

  long throttledSince;

  /** A streamed call's exchange while its body may still be written; null before and after. */
  HttpConnection streaming;

  StreamedBody.Sink sink;

  CallState(Call call, CallRunner runner) {
    this.call = call;
    this.runner = runner;
    this.loop = call.loop();
    this.origin = call.origin();
    this.pathAndQuery = call.pathAndQuery();
  }

  /**
   * For logs: never the query. A redirect target's carries pre-signed secrets, and an upload
   * session's carries the registry's signed {@code _state}, which lets anyone continue the upload.
   */
  String url() {
    int q = pathAndQuery.indexOf('?');
    return origin + (q < 0 ? pathAndQuery : pathAndQuery.substring(0, q) + "?…");
  }

  @Override
  public void start(long granted) {
    Runnable go =
        () -> {
          if (result.isDone()) {
            admitting.onOther(granted);
            return;
          }
          limiter = admitting;
          grantedNanos = granted;
          startNanos = System.nanoTime();
          runner.send(this);
        };
    if (loop.inEventLoop()) {
      go.run();
    } else {
      loop.execute(go);
    }
  }

  @Override
  public void wakeAfter(long delayNanos, Runnable task) {
    loop.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
  }
}
