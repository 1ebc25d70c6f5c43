package dev.oranc.common.registry;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a {@link Call} until it has an answer worth returning: through the auth challenge,
 * redirects and retries.
 *
 * <p>Design note. Of the attempts {@code --max-retry} allows, only failures count: a 401 that
 * teaches us the registry's token service, and a redirect to where a blob really is (ghcr.io sends
 * blob downloads to another host), are steps of one attempt. Retried: a connection that failed
 * before any of the answer arrived, and 500/502/503/504 answers, after an exponential backoff with
 * full jitter. Everything else is returned as it came, and the caller decides what it means (a 404
 * is an answer, not a failure).
 *
 * <p>Rate limits are not failures. Every attempt starts through its origin's {@link AimdLimiter}
 * (requests in flight per registry, halved on a rate limit, grown back on success), and a {@code
 * 429}, or a {@code 503} with {@code Retry-After}, sends the call back to wait in that window for
 * the registry's {@code Retry-After} (a jittered backoff when it gave none) without spending an
 * attempt. A call gives up on rate limits only when waiting on would take it past the time budget
 * ({@link RegistryClientConfig#maxRetryAfter()}, {@code --max-retry 5m}) counted from its first
 * one: then it fails as {@link dev.oranc.common.error.RegistryException.RateLimited} with the
 * registry's {@code Retry-After}, which the server passes on with its {@code 503}. A {@code 503}
 * without {@code Retry-After} is as likely an outage as load shedding: it halves the window too,
 * but spends an attempt.
 *
 * <p>A call's body is a byte array, which every attempt can send again, or a {@link StreamedBody}
 * (an upload's {@code PATCH}), which is gone once sent. A streamed call is sent exactly once, as
 * PATCHes always were: it is authorized and logged as any call, but not retried after a failure
 * (not even one before its first byte went out), not sent again after a 401, a rate limit or a 5xx,
 * and it follows no redirect; its answer, whatever it is, goes to the caller ({@link BlobUpload}
 * fails the upload, and its caller, who can produce the body again, starts anew). It also stays out
 * of the origin's window, as PATCHes always have (they go on a session whose {@code POST} went
 * through it): it waits for no room, and its answers, a rate limit included, neither shrink nor
 * grow the window nor count in {@link Throttling}. Cancelling its future (the upload failed
 * elsewhere) ends the exchange: the connection is closed, or given back unused when it was still
 * being taken.
 *
 * <p>Credentials never cross origins: after a redirect to another host the request goes without
 * {@code Authorization}, as every registry client does (the target URL is pre-signed). A redirect
 * from https to plain http is not followed: it would expose the request, and the answer, to the
 * network. Where a redirect may connect to at all is the address policy's to say ({@link
 * ConnectionPool}), for every hop.
 */
final class CallRunner {

  private static final Logger log = LoggerFactory.getLogger(CallRunner.class);
  private static final int MAX_REDIRECTS = 5;
  static final String USER_AGENT =
      "oranc/"
          + Objects.requireNonNullElse(
              CallRunner.class.getPackage().getImplementationVersion(), "dev");

  private final Connections connections;
  private final RegistryClientConfig config;
  private final RateLimits rateLimits;
  private Authenticator authenticator;

  CallRunner(Connections connections, RegistryClientConfig config) {
    this(connections, config, new RateLimits(config, Ticker.systemTicker()));
  }

  CallRunner(Connections connections, RegistryClientConfig config, RateLimits rateLimits) {
    this.connections = connections;
    this.config = config;
    this.rateLimits = rateLimits;
  }

  Throttling throttling() {
    return rateLimits.throttling();
  }

  void authenticator(Authenticator authenticator) {
    this.authenticator = authenticator;
  }

  CompletableFuture<Response> run(Call call) {
    return run(call, true);
  }

  /**
   * As {@link #run(Call)}; {@code limited} false keeps the call out of the origin's window: token
   * fetches, which a call holding a place in the same origin's window (ghcr.io's realm is on
   * ghcr.io) may wait for, and must not queue behind.
   */
  CompletableFuture<Response> run(Call call, boolean limited) {
    State s = new State(call);
    s.limited = limited && call.streamed() == null;
    // Whatever ends the call gives its place in the window back, if it still holds one.
    s.result.whenComplete((r, e) -> releaseOther(s));
    if (call.streamed() != null) {
      s.result.whenComplete((r, e) -> endStreamed(s));
    }
    s.loop.execute(() -> attempt(s));
    return s.result;
  }

  private final class State implements AimdLimiter.Waiter {
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

    State(Call call) {
      this.call = call;
      this.loop = call.loop();
      this.origin = call.origin();
      this.pathAndQuery = call.pathAndQuery();
    }

    /**
     * For logs: never the query. A redirect target's carries pre-signed secrets, and an upload
     * session's carries the registry's signed {@code _state}, which lets anyone continue the
     * upload.
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
            send(this);
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

  private void attempt(State s) {
    s.attempts++;
    admit(s);
  }

  /** Into the origin's window: sends now, or once there is room and no pause. */
  private void admit(State s) {
    if (!s.limited) {
      s.startNanos = System.nanoTime();
      send(s);
      return;
    }
    HttpMethod m = s.call.method();
    AimdLimiter limiter =
        rateLimits.forOrigin(
            s.call.origin(), !(m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD)));
    long maxWait =
        config.maxRetryAfter().toNanos()
            - (s.throttled ? rateLimits.ticker().read() - s.throttledSince : 0);
    s.admitting = limiter;
    AimdLimiter.Admission admission = limiter.acquire(s, maxWait);
    if (admission == AimdLimiter.Admission.PAUSED_TOO_LONG) {
      // Paused for longer than this call may still wait: it fails now, not after waiting in vain.
      long pause = limiter.pauseLeft();
      long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(pause + 999_999_999L));
      s.result.completeExceptionally(
          tooLong(s, "the registry is rate-limiting us for " + seconds + " s more", null, seconds));
    } else if (admission == AimdLimiter.Admission.QUEUED && !s.throttled && limiter.throttled()) {
      s.throttled = true;
      s.throttledSince = rateLimits.ticker().read();
    } else if (admission == AimdLimiter.Admission.REFUSED) {
      s.result.completeExceptionally(
          new RegistryException.Unavailable(
              s.call.operation(),
              "too many requests waiting for the registry, which is rate-limiting us",
              RegistryException.Unavailable.Reason.OVERLOADED,
              0,
              null));
    }
  }

  private static void releaseSuccess(State s) {
    AimdLimiter l = s.limiter;
    if (l != null) {
      s.limiter = null;
      l.onSuccess(s.grantedNanos);
    }
  }

  private static void releaseOther(State s) {
    if (!s.loop.inEventLoop()) {
      s.loop.execute(() -> releaseOther(s));
      return;
    }
    AimdLimiter l = s.limiter;
    if (l != null) {
      s.limiter = null;
      l.onOther(s.grantedNanos);
    }
  }

  /**
   * @return how long the origin is paused from now
   */
  private static long releaseRateLimited(State s, long retryAfterNanos, long maxPauseNanos) {
    AimdLimiter l = s.limiter;
    if (l == null) {
      return 0;
    }
    s.limiter = null;
    return l.onRateLimited(s.grantedNanos, retryAfterNanos, maxPauseNanos);
  }

  private void send(State s) {
    Call call = s.call;
    if (!s.sameOrigin) {
      acquireAndExchange(s, null);
      return;
    }
    if (call.credentials() == null) {
      acquireAndExchange(s, call.headers().get(HttpHeaderNames.AUTHORIZATION));
      return;
    }
    authenticator
        .authorization(s.origin, call.credentials(), call.scope(), s.loop)
        .whenComplete(
            (authorization, error) ->
                s.loop.execute(
                    () -> {
                      if (error != null) {
                        s.result.completeExceptionally(
                            RegistryErrors.fromFailure(call.operation(), Causes.of(error)));
                      } else {
                        acquireAndExchange(s, authorization);
                      }
                    }));
  }

  private void acquireAndExchange(State s, String authorization) {
    s.authorizationSent = authorization;
    connections
        .pool(s.origin, s.loop)
        .acquire()
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                onFailure(s, f.cause());
                return;
              }
              exchange(s, (HttpConnection) f.getNow(), authorization);
            });
  }

  private void exchange(State s, HttpConnection connection, String authorization) {
    Call call = s.call;
    if (call.streamed() != null) {
      exchangeStreamed(s, connection, authorization);
      return;
    }
    ByteBuf body =
        call.body() == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(call.body());
    FullHttpRequest request =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, call.method(), s.pathAndQuery, body);
    setHeaders(s, request.headers(), authorization);
    if (call.body() != null
        || call.method().equals(HttpMethod.PUT)
        || call.method().equals(HttpMethod.POST)
        || call.method().equals(HttpMethod.PATCH)) {
      request.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    }
    connection.send(request, true, new Listener(s, connection));
  }

  /** The head goes out, then the body writes itself through a sink while the exchange lasts. */
  private void exchangeStreamed(State s, HttpConnection connection, String authorization) {
    if (s.result.isDone()) {
      // Cancelled while the connection was being taken: it goes back unused.
      connection.pool().release(connection);
      return;
    }
    StreamedBody body = s.call.streamed();
    HttpRequest request =
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, s.call.method(), s.pathAndQuery);
    setHeaders(s, request.headers(), authorization);
    s.streaming = connection;
    s.sink = new StreamedBody.Sink(connection);
    connection.send(request, false, new Listener(s, connection));
    connection.onWritabilityChanged(body::onWritabilityChanged);
    body.start(s.sink);
  }

  /** The exchange is over (answered or failed): the body writes no more. */
  private static void streamedExchangeOver(State s) {
    s.streaming = null;
    if (s.sink != null) {
      s.sink.close();
    }
  }

  /** The call is over; a streamed exchange still running (cancelled by the caller) is closed. */
  private static void endStreamed(State s) {
    if (!s.loop.inEventLoop()) {
      s.loop.execute(() -> endStreamed(s));
      return;
    }
    HttpConnection c = s.streaming;
    streamedExchangeOver(s);
    if (c != null) {
      c.abort();
    }
  }

  private static void setHeaders(State s, HttpHeaders h, String authorization) {
    Call call = s.call;
    h.set(HttpHeaderNames.HOST, s.origin.authority());
    h.set(HttpHeaderNames.USER_AGENT, USER_AGENT);
    h.add(call.headers());
    h.remove(HttpHeaderNames.AUTHORIZATION);
    if (authorization != null) {
      h.set(HttpHeaderNames.AUTHORIZATION, authorization);
    }
  }

  /** Collects one answer; hands a successful streamed one over to a {@link StreamingDownload}. */
  private final class Listener implements ResponseListener {
    private final State s;
    private final HttpConnection connection;
    private HttpResponse head;
    private ByteBuf body;
    private boolean overflow;

    Listener(State s, HttpConnection connection) {
      this.s = s;
      this.connection = connection;
    }

    @Override
    public void onHead(HttpResponse head) {
      this.head = head;
      int status = head.status().code();
      if (status == 401
          && s.call.credentials() != null
          && AuthChallenge.headerChars(head.headers()) > AuthChallenge.MAX_CHARS) {
        // Refused before it is parsed or remembered; the connection goes too, since its decoder
        // grew buffers to read the header.
        overflow = true;
        connection.abort();
        logDone(s, status);
        s.result.completeExceptionally(
            new RegistryException.Protocol(
                s.call.operation(),
                "the registry's authentication challenge (WWW-Authenticate) is longer than "
                    + AuthChallenge.MAX_CHARS
                    + " characters, the most we accept; it is not a registry"
                    + " we can authenticate with"));
        return;
      }
      if (s.call.stream() && status >= 200 && status < 300) {
        StreamingDownload download =
            new StreamingDownload(connection, head, s.call.operation(), s.url());
        logDone(s, status);
        releaseSuccess(s);
        s.result.complete(new Response(status, head.headers(), Response.NO_BODY, download));
      }
    }

    @Override
    public void onContent(ByteBuf content) {
      if (overflow) {
        content.release();
        return;
      }
      if (body == null) {
        body = connection.channel().alloc().compositeBuffer(64);
      }
      if (body.readableBytes() + content.readableBytes() > s.call.maxBody()) {
        overflow = true;
        content.release();
        body.release();
        body = null;
        connection.abort();
        s.result.completeExceptionally(
            new RegistryException.Protocol(
                s.call.operation(),
                "the registry's answer ("
                    + RegistryErrors.statusText(head.status().code())
                    + ") is larger than "
                    + s.call.maxBody()
                    + " bytes, the most we read for this"));
        return;
      }
      ((CompositeByteBuf) body).addComponent(true, content);
    }

    @Override
    public void onEnd() {
      streamedExchangeOver(s);
      byte[] bytes = Response.NO_BODY;
      if (body != null) {
        bytes = new byte[body.readableBytes()];
        body.readBytes(bytes);
        body.release();
        body = null;
      }
      onAnswer(s, new Response(head.status().code(), head.headers(), bytes, null));
    }

    @Override
    public void onError(Throwable cause) {
      streamedExchangeOver(s);
      if (body != null) {
        body.release();
        body = null;
      }
      onFailure(s, cause);
    }
  }

  private void onAnswer(State s, Response r) {
    Call call = s.call;
    int status = r.status();
    if (call.streamed() != null) {
      // Its body is gone: whatever the answer, it goes to the caller as it came.
      logDone(s, status);
      s.result.complete(r);
      return;
    }
    boolean sentToken = s.authorizationSent != null && s.authorizationSent.startsWith("Bearer ");
    if (status == 401
        && call.credentials() != null
        && s.sameOrigin
        && !(sentToken ? s.refreshed : s.learnt)) {
      Optional<AuthChallenge> challenge =
          AuthChallenge.parse(r.headers().get(HttpHeaderNames.WWW_AUTHENTICATE));
      if (challenge.isPresent()
          && authenticator.learn(
              s.origin, challenge.get(), call.credentials(), call.scope(), s.authorizationSent)) {
        if (sentToken) {
          s.refreshed = true;
        } else {
          s.learnt = true;
        }
        log.debug(
            "{} {}: 401, authenticating ({})", call.method(), s.url(), challenge.get().scheme());
        send(s);
        return;
      }
    }
    if (status >= 300
        && status < 400
        && call.followRedirects()
        && r.headers().contains(HttpHeaderNames.LOCATION)) {
      if (++s.redirects > MAX_REDIRECTS) {
        s.result.completeExceptionally(
            new RegistryException.Protocol(
                call.operation(), "more than " + MAX_REDIRECTS + " redirects"));
        return;
      }
      URI target =
          s.origin.resolve(s.pathAndQuery).resolve(r.headers().get(HttpHeaderNames.LOCATION));
      Origin next;
      try {
        next = Origin.of(target);
      } catch (RuntimeException e) {
        s.result.completeExceptionally(
            new RegistryException.Protocol(
                call.operation(), "the registry redirected to an unusable URL"));
        return;
      }
      if (isDowngrade(s.origin, next)) {
        log.warn(
            "{} {}: {} redirect from https to plain http ({}:{}), not followed",
            call.method(),
            s.url(),
            status,
            next.host(),
            next.port());
        s.result.completeExceptionally(
            new RegistryException.Protocol(
                call.operation(),
                "the registry redirected from https to plain http; not followed"));
        return;
      }
      if (!next.equals(s.origin)) {
        s.sameOrigin = false;
      }
      log.debug("{} {}: {} redirect to {}", call.method(), s.url(), status, next);
      s.origin = next;
      s.pathAndQuery =
          target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
      send(s);
      return;
    }
    if (status == 429 || status == 503) {
      long retryAfter = RegistryErrors.retryAfterSeconds(r);
      s.rateLimitedCount++;
      long now0 = rateLimits.ticker().read();
      long mayWait = config.maxRetryAfter().toNanos() - (s.throttled ? now0 - s.throttledSince : 0);
      long wait =
          s.limited
              ? releaseRateLimited(
                  s,
                  retryAfter < 0 ? -1 : TimeUnit.SECONDS.toNanos(retryAfter),
                  status == 503 && retryAfter < 0 ? Long.MAX_VALUE : mayWait)
              : TimeUnit.MILLISECONDS.toNanos(
                  retryAfter < 0 ? backoffMillis(s.rateLimitedCount) : retryAfter * 1000);
      if (status == 503 && retryAfter < 0) {
        // Maybe an outage rather than load shedding: slowed down for, but an attempt spent.
        if (s.attempts < config.maxAttempts()) {
          log.warn(
              "{} {}: {}, retrying in {} ms (attempt {} of {})",
              call.method(),
              s.url(),
              RegistryErrors.statusText(status),
              TimeUnit.NANOSECONDS.toMillis(wait),
              s.attempts,
              config.maxAttempts());
          if (s.limited) {
            attempt(s);
          } else {
            s.loop.schedule(() -> attempt(s), wait, TimeUnit.NANOSECONDS);
          }
          return;
        }
      } else {
        long now = rateLimits.ticker().read();
        if (!s.throttled) {
          s.throttled = true;
          s.throttledSince = now;
        }
        long budget = config.maxRetryAfter().toNanos();
        if (now - s.throttledSince + wait <= budget) {
          log.debug(
              "{} {}: {}, waiting {} ms for the registry's rate limit",
              call.method(),
              s.url(),
              RegistryErrors.statusText(status),
              TimeUnit.NANOSECONDS.toMillis(wait));
          if (s.limited) {
            admit(s);
          } else {
            s.loop.schedule(() -> admit(s), wait, TimeUnit.NANOSECONDS);
          }
          return;
        }
        log.warn(
            "{} {}: {}, rate-limited for longer than the retry budget ({}{})",
            call.method(),
            s.url(),
            RegistryErrors.statusText(status),
            RetryBudget.format(config.maxRetryAfter()),
            retryAfter >= 0 ? "; the registry asked for " + retryAfter + " s more" : "");
        logDone(s, status);
        s.result.completeExceptionally(
            tooLong(
                s,
                "registry answered " + RegistryErrors.statusText(status) + " (rate limit)",
                RegistryErrors.registryMessage(r.body()),
                retryAfter));
        return;
      }
    }
    if ((status == 500 || status == 502 || status == 504) && s.attempts < config.maxAttempts()) {
      releaseOther(s);
      long delayMillis = backoffMillis(s.attempts);
      log.warn(
          "{} {}: {}, retrying in {} ms (attempt {} of {})",
          call.method(),
          s.url(),
          RegistryErrors.statusText(status),
          delayMillis,
          s.attempts,
          config.maxAttempts());
      s.loop.schedule(() -> attempt(s), delayMillis, TimeUnit.MILLISECONDS);
      return;
    }
    logDone(s, status);
    if (status < 500) {
      releaseSuccess(s);
    }
    s.result.complete(r);
  }

  /** Rate-limited past the call's time budget: the one line a user or a Nix client gets. */
  private RegistryException.RateLimited tooLong(
      State s, String what, String said, long retryAfterSeconds) {
    return new RegistryException.RateLimited(
        s.call.operation(),
        what
            + ", for longer than the retry budget of "
            + RetryBudget.format(config.maxRetryAfter())
            + " allows; wait, or give more with --max-retry DURATION (e.g. --max-retry 15m)",
        said,
        retryAfterSeconds);
  }

  /** From https to plain http: a redirect that is not followed. */
  static boolean isDowngrade(Origin from, Origin to) {
    return from.tls() && !to.tls();
  }

  private void onFailure(State s, Throwable cause) {
    Call call = s.call;
    releaseOther(s);
    boolean retriable =
        call.streamed() == null
            && cause instanceof ConnectionFailure f
            && !f.responseStarted()
            && f.kind() != ConnectionFailure.Kind.OVERLOADED
            && f.kind() != ConnectionFailure.Kind.TLS
            && f.kind() != ConnectionFailure.Kind.REFUSED;
    if (retriable && s.attempts < config.maxAttempts()) {
      long delayMillis = backoffMillis(s.attempts);
      log.warn(
          "{} {}: {}, retrying in {} ms (attempt {} of {})",
          call.method(),
          s.url(),
          cause.getMessage(),
          delayMillis,
          s.attempts,
          config.maxAttempts());
      s.loop.schedule(() -> attempt(s), delayMillis, TimeUnit.MILLISECONDS);
      return;
    }
    log.debug(
        "{} {}: failed after {} attempt(s): {}",
        call.method(),
        s.url(),
        s.attempts,
        cause.getMessage());
    String attemptsNote = s.attempts > 1 ? " (after " + s.attempts + " attempts)" : "";
    s.result.completeExceptionally(
        RegistryErrors.fromFailure(call.operation(), withNote(cause, attemptsNote)));
  }

  private static Throwable withNote(Throwable cause, String note) {
    if (note.isEmpty() || !(cause instanceof ConnectionFailure f)) {
      return cause;
    }
    return f.withNote(note);
  }

  /** Exponential backoff with full jitter: uniform in [base/2, base], base doubling per attempt. */
  long backoffMillis(int attempt) {
    long initial = config.initialBackoff().toMillis();
    long cap = config.maxBackoff().toMillis();
    long base = Math.min(cap, initial << Math.min(20, attempt - 1));
    return base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
  }

  private void logDone(State s, int status) {
    if (log.isDebugEnabled()) {
      log.debug(
          "{} {} -> {} in {} ms (attempt {})",
          s.call.method(),
          s.url(),
          status,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - s.startNanos),
          s.attempts);
    }
  }
}
