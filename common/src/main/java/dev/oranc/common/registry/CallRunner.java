package dev.oranc.common.registry;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.auth.AuthChallenge;
import dev.oranc.common.registry.auth.Authenticator;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.auth.TokenRequests;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.throttle.AimdLimiter;
import dev.oranc.common.registry.throttle.RateLimits;
import dev.oranc.common.registry.throttle.Throttling;
import dev.oranc.common.registry.transport.ConnectionFailure;
import dev.oranc.common.registry.transport.ConnectionPool;
import dev.oranc.common.registry.transport.Connections;
import dev.oranc.common.registry.transport.HttpConnection;
import dev.oranc.common.registry.transport.Origin;
import dev.oranc.common.registry.transport.ResponseListener;
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
import java.util.Objects;
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
 *
 * <p>The rules live in three classes: this one drives a call (taking a connection, sending, reading
 * the answer, retrying failures and 5xx), {@link RateLimitGate} holds the windows, {@code
 * Retry-After} and the time budget, and {@link AuthOrRedirect} the 401 and redirect steps; a call's
 * progress is its {@link CallState}. All three log under this class's logger.
 */
final class CallRunner implements TokenRequests {

  private static final Logger log = LoggerFactory.getLogger(CallRunner.class);
  static final String USER_AGENT =
      "oranc/"
          + Objects.requireNonNullElse(
              CallRunner.class.getPackage().getImplementationVersion(), "dev");

  private final Connections connections;
  private final RegistryClientConfig config;
  private final RateLimitGate gate;
  private final AuthOrRedirect detours = new AuthOrRedirect(this);
  private Authenticator authenticator;

  CallRunner(Connections connections, RegistryClientConfig config) {
    this(connections, config, new RateLimits(config, Ticker.systemTicker()));
  }

  CallRunner(Connections connections, RegistryClientConfig config, RateLimits rateLimits) {
    this.connections = connections;
    this.config = config;
    this.gate = new RateLimitGate(config, rateLimits, this);
  }

  Throttling throttling() {
    return gate.throttling();
  }

  void authenticator(Authenticator authenticator) {
    this.authenticator = authenticator;
  }

  Authenticator authenticator() {
    return authenticator;
  }

  CompletableFuture<Response> run(Call call) {
    return run(call, true);
  }

  /** A token fetch for the {@link Authenticator}: run outside the origin's window. */
  @Override
  public CompletableFuture<byte[]> getToken(
      String operation,
      Origin origin,
      String pathAndQuery,
      HttpHeaders headers,
      int maxBody,
      Credentials credentials,
      EventLoop loop) {
    Call call =
        new Call(
            operation,
            HttpMethod.GET,
            origin,
            pathAndQuery,
            headers,
            null,
            null,
            null,
            false,
            maxBody,
            true,
            loop);
    return run(call, false).thenApply(r -> tokenAnswer(operation, r, credentials));
  }

  private static byte[] tokenAnswer(String operation, Response r, Credentials credentials) {
    if (r.status() == 401 || r.status() == 403) {
      throw new RegistryException.Unauthorized(
          operation,
          credentials.isAnonymous()
              ? "the token service gives no anonymous access ("
                  + RegistryErrors.statusText(r.status())
                  + "); set credentials"
              : "the token service refused the credentials ("
                  + RegistryErrors.statusText(r.status())
                  + ")");
    }
    if (!r.isSuccess()) {
      throw RegistryErrors.fromResponse(operation, r, credentials);
    }
    return r.body();
  }

  /**
   * As {@link #run(Call)}; {@code limited} false keeps the call out of the origin's window: token
   * fetches, which a call holding a place in the same origin's window (ghcr.io's realm is on
   * ghcr.io) may wait for, and must not queue behind.
   */
  CompletableFuture<Response> run(Call call, boolean limited) {
    CallState s = new CallState(call, this);
    s.limited = limited && call.streamed() == null;
    // Whatever ends the call gives its place in the window back, if it still holds one.
    s.result.whenComplete((r, e) -> RateLimitGate.releaseOther(s));
    if (call.streamed() != null) {
      s.result.whenComplete((r, e) -> endStreamed(s));
    }
    s.loop.execute(() -> attempt(s));
    return s.result;
  }

  void attempt(CallState s) {
    s.attempts++;
    gate.admit(s);
  }

  void send(CallState s) {
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

  private void acquireAndExchange(CallState s, String authorization) {
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

  private void exchange(CallState s, HttpConnection connection, String authorization) {
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
  private void exchangeStreamed(CallState s, HttpConnection connection, String authorization) {
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
  private static void streamedExchangeOver(CallState s) {
    s.streaming = null;
    if (s.sink != null) {
      s.sink.close();
    }
  }

  /** The call is over; a streamed exchange still running (cancelled by the caller) is closed. */
  private static void endStreamed(CallState s) {
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

  private static void setHeaders(CallState s, HttpHeaders h, String authorization) {
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
    private final CallState s;
    private final HttpConnection connection;
    private HttpResponse head;
    private ByteBuf body;
    private boolean overflow;

    Listener(CallState s, HttpConnection connection) {
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
        RateLimitGate.releaseSuccess(s);
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

  private void onAnswer(CallState s, Response r) {
    Call call = s.call;
    int status = r.status();
    if (call.streamed() != null) {
      // Its body is gone: whatever the answer, it goes to the caller as it came.
      logDone(s, status);
      s.result.complete(r);
      return;
    }
    if (detours.onAnswer(s, r)) {
      return;
    }
    if ((status == 429 || status == 503) && gate.onRateLimited(s, r)) {
      return;
    }
    if ((status == 500 || status == 502 || status == 504) && s.attempts < config.maxAttempts()) {
      RateLimitGate.releaseOther(s);
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
      RateLimitGate.releaseSuccess(s);
    }
    s.result.complete(r);
  }

  private void onFailure(CallState s, Throwable cause) {
    Call call = s.call;
    RateLimitGate.releaseOther(s);
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

  static void logDone(CallState s, int status) {
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
