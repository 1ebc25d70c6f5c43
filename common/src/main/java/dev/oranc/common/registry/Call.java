package dev.oranc.common.registry;

import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

/**
 * One logical registry request, which {@link CallRunner} may send several times (auth challenge,
 * redirect, retry). Its body is a byte array so that every attempt can send it again, or a {@link
 * StreamedBody}, which is sent once.
 *
 * @param operation what is attempted, for errors and logs: {@code GET manifest
 *     127.0.0.1:5000/a/b:tag}
 * @param credentials whose identity to use; null for requests that carry no registry auth (token
 *     fetches, which set their own header)
 * @param scope the token scope the request needs, e.g. {@code repository:a/b:pull}; null when none
 * @param stream stream a successful (2xx) body instead of collecting it
 * @param maxBody the largest body collected (non-streamed, or an error answer); over it fails
 * @param streamed a body written as it is produced (then {@code body} is null and the headers say
 *     its length); null for a byte-array body
 */
record Call(
    String operation,
    HttpMethod method,
    Origin origin,
    String pathAndQuery,
    HttpHeaders headers,
    byte[] body,
    Credentials credentials,
    String scope,
    boolean stream,
    int maxBody,
    boolean followRedirects,
    EventLoop loop,
    StreamedBody streamed) {

  Call {
    if (streamed != null && body != null) {
      throw new IllegalArgumentException(operation + ": a streamed call has no byte-array body");
    }
  }

  /** A call whose body, if any, is the byte array. */
  Call(
      String operation,
      HttpMethod method,
      Origin origin,
      String pathAndQuery,
      HttpHeaders headers,
      byte[] body,
      Credentials credentials,
      String scope,
      boolean stream,
      int maxBody,
      boolean followRedirects,
      EventLoop loop) {
    this(
        operation,
        method,
        origin,
        pathAndQuery,
        headers,
        body,
        credentials,
        scope,
        stream,
        maxBody,
        followRedirects,
        loop,
        null);
  }
}
