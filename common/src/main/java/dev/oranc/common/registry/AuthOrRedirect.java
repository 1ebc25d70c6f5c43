package dev.oranc.common.registry;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.auth.AuthChallenge;
import dev.oranc.common.registry.auth.Authenticator;
import dev.oranc.common.registry.transport.Origin;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.net.URI;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answers that send a call again within one attempt, for {@link CallRunner}: a {@code 401}
 * whose challenge teaches the {@link Authenticator} how to authenticate (or that our token needs
 * refreshing), and a redirect to where the blob really is.
 *
 * <p>Design note. The rules are {@link CallRunner}'s (see its design note): each kind of 401 step
 * is taken once per call, at most {@value #MAX_REDIRECTS} redirects, a redirect to another origin
 * drops the credentials for the rest of the call, and one from https to plain http is refused. It
 * logs under {@link CallRunner}'s logger, so the log lines are the same as before the split.
 */
final class AuthOrRedirect {

  private static final Logger log = LoggerFactory.getLogger(CallRunner.class);
  private static final int MAX_REDIRECTS = 5;

  private final CallRunner runner;

  AuthOrRedirect(CallRunner runner) {
    this.runner = runner;
  }

  /**
   * A 401 that teaches us how to authenticate, or a redirect to follow: steps of one attempt.
   *
   * @return whether the call is taken care of (sent again, or failed); false when the answer is
   *     neither
   */
  boolean onAnswer(CallState s, Response r) {
    Call call = s.call;
    int status = r.status();
    boolean sentToken = s.authorizationSent != null && s.authorizationSent.startsWith("Bearer ");
    if (status == 401
        && call.credentials() != null
        && s.sameOrigin
        && !(sentToken ? s.refreshed : s.learnt)) {
      Optional<AuthChallenge> challenge =
          AuthChallenge.parse(r.headers().get(HttpHeaderNames.WWW_AUTHENTICATE));
      if (challenge.isPresent()
          && runner
              .authenticator()
              .learn(
                  s.origin,
                  challenge.get(),
                  call.credentials(),
                  call.scope(),
                  s.authorizationSent)) {
        if (sentToken) {
          s.refreshed = true;
        } else {
          s.learnt = true;
        }
        log.debug(
            "{} {}: 401, authenticating ({})", call.method(), s.url(), challenge.get().scheme());
        runner.send(s);
        return true;
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
        return true;
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
        return true;
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
        return true;
      }
      if (!next.equals(s.origin)) {
        s.sameOrigin = false;
      }
      log.debug("{} {}: {} redirect to {}", call.method(), s.url(), status, next);
      s.origin = next;
      s.pathAndQuery =
          target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
      runner.send(s);
      return true;
    }
    return false;
  }

  /** From https to plain http: a redirect that is not followed. */
  static boolean isDowngrade(Origin from, Origin to) {
    return from.tls() && !to.tls();
  }
}
