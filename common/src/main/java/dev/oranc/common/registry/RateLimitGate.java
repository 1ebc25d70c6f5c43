package dev.oranc.common.registry;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.common.registry.throttle.AimdLimiter;
import dev.oranc.common.registry.throttle.RateLimits;
import dev.oranc.common.registry.throttle.Throttling;
import io.netty.handler.codec.http.HttpMethod;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rate-limit half of {@link CallRunner}: takes each attempt of a call into its origin's {@link
 * AimdLimiter} window, gives its place back, and decides what a {@code 429} or {@code 503} answer
 * means, waiting out the registry's {@code Retry-After} within the call's time budget.
 *
 * <p>Design note. The rules are {@link CallRunner}'s (see its design note); this class only holds
 * them in one place. It logs under {@link CallRunner}'s logger, so the log lines a user sees are
 * the same as before the split. Everything here runs on the call's event loop, and no path blocks
 * it: waiting is a place in the window's queue or a task scheduled on the loop.
 */
final class RateLimitGate {

  private static final Logger log = LoggerFactory.getLogger(CallRunner.class);

  private final RegistryClientConfig config;
  private final RateLimits rateLimits;
  private final CallRunner runner;

  RateLimitGate(RegistryClientConfig config, RateLimits rateLimits, CallRunner runner) {
    this.config = config;
    this.rateLimits = rateLimits;
    this.runner = runner;
  }

  Throttling throttling() {
    return rateLimits.throttling();
  }

  /** Into the origin's window: sends now, or once there is room and no pause. */
  void admit(CallState s) {
    if (!s.limited) {
      s.startNanos = System.nanoTime();
      runner.send(s);
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

  static void releaseSuccess(CallState s) {
    AimdLimiter l = s.limiter;
    if (l != null) {
      s.limiter = null;
      l.onSuccess(s.grantedNanos);
    }
  }

  static void releaseOther(CallState s) {
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
  private static long releaseRateLimited(CallState s, long retryAfterNanos, long maxPauseNanos) {
    AimdLimiter l = s.limiter;
    if (l == null) {
      return 0;
    }
    s.limiter = null;
    return l.onRateLimited(s.grantedNanos, retryAfterNanos, maxPauseNanos);
  }

  /**
   * A {@code 429}, or a {@code 503}: waits for the registry's {@code Retry-After} in the window, or
   * fails the call past its time budget; a {@code 503} without {@code Retry-After} spends an
   * attempt.
   *
   * @return whether the call is taken care of (sent again later, or failed); false when a 503 has
   *     no attempt left and the answer goes to the caller as it came
   */
  boolean onRateLimited(CallState s, Response r) {
    Call call = s.call;
    int status = r.status();
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
                retryAfter < 0 ? runner.backoffMillis(s.rateLimitedCount) : retryAfter * 1000);
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
          runner.attempt(s);
        } else {
          s.loop.schedule(() -> runner.attempt(s), wait, TimeUnit.NANOSECONDS);
        }
        return true;
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
        return true;
      }
      log.warn(
          "{} {}: {}, rate-limited for longer than the retry budget ({}{})",
          call.method(),
          s.url(),
          RegistryErrors.statusText(status),
          RetryBudget.format(config.maxRetryAfter()),
          retryAfter >= 0 ? "; the registry asked for " + retryAfter + " s more" : "");
      CallRunner.logDone(s, status);
      s.result.completeExceptionally(
          tooLong(
              s,
              "registry answered " + RegistryErrors.statusText(status) + " (rate limit)",
              RegistryErrors.registryMessage(r.body()),
              retryAfter));
      return true;
    }
    return false;
  }

  /** Rate-limited past the call's time budget: the one line a user or a Nix client gets. */
  private RegistryException.RateLimited tooLong(
      CallState s, String what, String said, long retryAfterSeconds) {
    return new RegistryException.RateLimited(
        s.call.operation(),
        what
            + ", for longer than the retry budget of "
            + RetryBudget.format(config.maxRetryAfter())
            + " allows; wait, or give more with --max-retry DURATION (e.g. --max-retry 15m)",
        said,
        retryAfterSeconds);
  }
}
