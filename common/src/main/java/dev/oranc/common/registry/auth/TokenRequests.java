package dev.oranc.common.registry.auth;

import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.concurrent.CompletableFuture;

/**
 * The one request the {@link Authenticator} makes: a {@code GET} to a registry's token service.
 *
 * <p>Design note. The client's call machinery ({@code CallRunner}) sends it, with the retries,
 * address policy and rate limits of every other request, and implements this; the authenticator
 * sees only this interface, so that the auth package does not depend on the client that depends on
 * it.
 */
public interface TokenRequests {

  /**
   * Sends {@code GET pathAndQuery} to {@code origin} with {@code headers}, not counted against the
   * origin's rate limit, reading at most {@code maxBody} bytes of the answer.
   *
   * @return the body of a 2xx answer; fails as the request failed, with a 401 or 403 as {@link
   *     dev.oranc.common.error.RegistryException.Unauthorized} (the token service refused {@code
   *     credentials}), with any other status as the registry error for {@code operation}
   */
  CompletableFuture<byte[]> getToken(
      String operation,
      Origin origin,
      String pathAndQuery,
      HttpHeaders headers,
      int maxBody,
      Credentials credentials,
      EventLoop loop);
}
