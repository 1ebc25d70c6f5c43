package dev.oranc.common.registry.auth;

import com.fasterxml.jackson.jr.ob.JSON;
import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.QueryStringEncoder;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides the {@code Authorization} of each registry request: none, Basic, or a Bearer token from
 * the registry's token service (the Docker token flow ghcr.io uses, for anonymous pulls too).
 *
 * <p>Design note. Credentials go only where they are asked for: the first request to an origin is
 * anonymous, whatever the caller holds, so a host that never challenges (any host named in a path
 * the server was sent) never sees them. What a registry wants is learnt from its 401 ({@code
 * WWW-Authenticate}, Basic or Bearer) and remembered per origin, so later requests carry the right
 * header from the start and cost no extra round trip.
 *
 * <p>Remembered challenges are bounded, since origins come from requests: each is at most {@link
 * AuthChallenge#MAX_CHARS} (a longer one is refused before it gets here), together at most {@link
 * #MAX_CHALLENGE_WEIGHT} characters, least used evicted first, and one unused for {@link
 * #CHALLENGE_IDLE} is forgotten (the next request to that origin goes anonymous and learns it
 * again). Cached tokens are bounded by their total size the same way.
 *
 * <p>Tokens are cached per (registry, credentials fingerprint, scope) until shortly before they
 * expire ({@link BearerToken#cacheFor()}); concurrent requests for the same token share one fetch
 * (the cache holds futures). A 401 to a request that carried a token means the registry no longer
 * takes it: that token is dropped and the request re-sent once with a fresh one.
 *
 * <p>Credentials go to the token service the registry names; never over plain HTTP when the
 * registry itself uses TLS (nor is a token fetched that way, with or without credentials: it would
 * travel in clear text). The token service's address passes the same address policy as every
 * connection. Neither credentials nor tokens are logged.
 */
public final class Authenticator {

  private static final Logger log =
      LoggerFactory.getLogger("dev.oranc.common.registry.Authenticator");
  private static final int MAX_TOKEN_ANSWER = 64 * 1024;

  /**
   * Characters of remembered challenges in all: hundreds of the largest, thousands of usual ones.
   */
  static final long MAX_CHALLENGE_WEIGHT = 1 << 20;

  public static final Duration CHALLENGE_IDLE = Duration.ofHours(1);

  /** Characters of cached tokens (and their keys) in all. */
  static final long MAX_TOKEN_WEIGHT = 8 << 20;

  private record TokenKey(Origin registry, String credentials, String scope) {}

  private final TokenRequests requests;
  private final Cache<Origin, AuthChallenge> challenges;
  private final AsyncCache<TokenKey, BearerToken> tokens;
  private final AtomicLong tokenFetches = new AtomicLong();

  public Authenticator(TokenRequests requests, Ticker ticker) {
    this(requests, ticker, MAX_CHALLENGE_WEIGHT);
  }

  public Authenticator(TokenRequests requests, Ticker ticker, long maxChallengeWeight) {
    this.requests = requests;
    this.challenges =
        Caffeine.newBuilder()
            .maximumWeight(maxChallengeWeight)
            .<Origin, AuthChallenge>weigher(
                (origin, challenge) -> origin.host().length() + challenge.weight())
            .expireAfterAccess(CHALLENGE_IDLE)
            .ticker(ticker)
            .executor(Runnable::run)
            .build();
    this.tokens =
        Caffeine.newBuilder()
            .maximumWeight(MAX_TOKEN_WEIGHT)
            .<TokenKey, BearerToken>weigher(
                (key, token) ->
                    64
                        + key.registry().host().length()
                        + key.credentials().length()
                        + key.scope().length()
                        + token.authorization().length())
            .ticker(ticker)
            .expireAfter(
                new Expiry<TokenKey, BearerToken>() {
                  @Override
                  public long expireAfterCreate(TokenKey key, BearerToken token, long now) {
                    return token.cacheFor().toNanos();
                  }

                  @Override
                  public long expireAfterUpdate(
                      TokenKey key, BearerToken token, long now, long current) {
                    return token.cacheFor().toNanos();
                  }

                  @Override
                  public long expireAfterRead(
                      TokenKey key, BearerToken token, long now, long current) {
                    return current;
                  }
                })
            .buildAsync();
  }

  /** Token requests made so far; for tests and metrics. */
  public long tokenFetches() {
    return tokenFetches.get();
  }

  /** Challenges remembered now; for tests. */
  public long challengesRemembered() {
    challenges.cleanUp();
    return challenges.estimatedSize();
  }

  /**
   * The header for a request to {@code origin}, or null for none: none until the origin has asked
   * (a 401), then Basic credentials or a Bearer token as it asked.
   */
  public CompletableFuture<String> authorization(
      Origin origin, Credentials credentials, String scope, EventLoop loop) {
    AuthChallenge challenge = challenges.getIfPresent(origin);
    if (challenge == null) {
      return CompletableFuture.completedFuture(null);
    }
    if (challenge.isBearer()) {
      TokenKey key = new TokenKey(origin, credentials.fingerprint(), scope == null ? "" : scope);
      return tokens
          .get(key, (k, executor) -> fetch(origin, challenge, credentials, scope, loop))
          .thenApply(BearerToken::authorization);
    }
    return CompletableFuture.completedFuture(
        challenge.isBasic() && !credentials.isAnonymous()
            ? credentials.basicAuthorization()
            : null);
  }

  /**
   * Takes in a 401's challenge. True when sending the request again may succeed: the registry told
   * us about its token service, our token was refused (it is dropped), or it wants the Basic
   * credentials we have and did not send.
   */
  public boolean learn(
      Origin origin, AuthChallenge challenge, Credentials credentials, String scope, String sent) {
    if (challenge.weight() > AuthChallenge.MAX_CHARS) {
      return false; // CallRunner refuses these first; never stored either way
    }
    if (challenge.isBearer()) {
      if (challenge.realm() == null) {
        return false;
      }
      challenges.put(origin, challenge);
      if (sent != null && sent.startsWith("Bearer ")) {
        TokenKey key = new TokenKey(origin, credentials.fingerprint(), scope == null ? "" : scope);
        tokens
            .asMap()
            .computeIfPresent(
                key,
                (k, f) ->
                    f.isDone()
                            && !f.isCompletedExceptionally()
                            && f.join().authorization().equals(sent)
                        ? null
                        : f);
      }
      return true;
    }
    if (challenge.isBasic()) {
      challenges.put(origin, challenge);
      return !credentials.isAnonymous() && sent == null;
    }
    return false;
  }

  private CompletableFuture<BearerToken> fetch(
      Origin registry,
      AuthChallenge challenge,
      Credentials credentials,
      String scope,
      EventLoop loop) {
    // The realm is the registry's choice (any URL, any length): named in the log by the calls'
    // own lines, never in the operation, which a client of the server may be told.
    String operation =
        "GET token"
            + (scope == null ? "" : " for " + scope)
            + " from the token service of "
            + registry;
    URI realm;
    Origin origin;
    try {
      realm = URI.create(challenge.realm());
      origin = Origin.of(realm);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(
          new RegistryException.Protocol(
              operation, "the registry names an unusable token service URL"));
    }
    if (registry.tls() && !origin.tls()) {
      return CompletableFuture.failedFuture(
          new RegistryException.Protocol(
              operation,
              "the registry uses TLS but its token service does not; refusing to send credentials"
                  + " or fetch a token in clear text"));
    }
    QueryStringEncoder query =
        new QueryStringEncoder(realm.getRawPath().isEmpty() ? "/" : realm.getRawPath());
    if (realm.getRawQuery() != null) {
      for (String pair : realm.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        query.addParam(
            decode(eq < 0 ? pair : pair.substring(0, eq)),
            eq < 0 ? "" : decode(pair.substring(eq + 1)));
      }
    }
    if (challenge.service() != null) {
      query.addParam("service", challenge.service());
    }
    String scopes = scope != null ? scope : challenge.scope();
    if (scopes != null) {
      for (String s : scopes.split(" ")) {
        query.addParam("scope", s);
      }
    }
    HttpHeaders headers = new DefaultHttpHeaders();
    if (!credentials.isAnonymous()) {
      headers.set(HttpHeaderNames.AUTHORIZATION, credentials.basicAuthorization());
    }
    headers.set(HttpHeaderNames.ACCEPT, "application/json");
    tokenFetches.incrementAndGet();
    return requests
        .getToken(operation, origin, query.toString(), headers, MAX_TOKEN_ANSWER, credentials, loop)
        .thenApply(body -> readToken(operation, body));
  }

  private static BearerToken readToken(String operation, byte[] body) {
    Map<String, Object> json;
    try {
      json = JSON.std.mapFrom(body);
    } catch (Exception e) {
      throw new RegistryException.Protocol(operation, "the token service's answer is not JSON");
    }
    Object token = json == null ? null : json.get("token");
    if (!(token instanceof String) || ((String) token).isEmpty()) {
      token = json == null ? null : json.get("access_token");
    }
    if (!(token instanceof String t) || t.isEmpty()) {
      throw new RegistryException.Protocol(operation, "the token service's answer has no token");
    }
    Duration lifetime = BearerToken.DEFAULT_LIFETIME;
    if (json.get("expires_in") instanceof Number n && n.longValue() > 0) {
      lifetime = Duration.ofSeconds(n.longValue());
    }
    log.debug("{}: token for {}", operation, lifetime);
    return new BearerToken(t, lifetime);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }
}
