package dev.oranc.proxy.request;

import static dev.oranc.proxy.error.ErrorText.line;
import static io.netty.handler.codec.http.HttpResponseStatus.BAD_GATEWAY;
import static io.netty.handler.codec.http.HttpResponseStatus.BAD_REQUEST;
import static io.netty.handler.codec.http.HttpResponseStatus.FORBIDDEN;
import static io.netty.handler.codec.http.HttpResponseStatus.INTERNAL_SERVER_ERROR;
import static io.netty.handler.codec.http.HttpResponseStatus.NOT_FOUND;
import static io.netty.handler.codec.http.HttpResponseStatus.SERVICE_UNAVAILABLE;
import static io.netty.handler.codec.http.HttpResponseStatus.UNAUTHORIZED;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.error.RegistryException.Unavailable.Reason;
import dev.oranc.proxy.error.ErrorTable;
import dev.oranc.proxy.error.ErrorText;
import dev.oranc.proxy.error.Rejection;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Map;

/**
 * The one place where an error becomes an answer: status, headers and a one-line body. One table
 * row per kind of error for the plain face; a request signed for S3 gets the S3 face instead
 * ({@code s3.S3Errors}, handed to {@link ErrorResponseHandler} by the server's assembly), whose XML
 * body S3 clients parse.
 *
 * <pre>
 * Rejection (RequestRejected.*,    the status and headers it carries: 400 / 404 / 405 (Allow) /
 *   S3Rejected.*)                  414 / 416 (Content-Range) / 431 / 503 (shutting down, the
 *                                  client's streams at --max-streams-per-client, S3's SlowDown:
 *                                  Retry-After)
 * RegistryException.NotFound       404  &lt;Error&gt;&lt;Code&gt;NoSuchKey&lt;/Code&gt;&lt;/Error&gt; (S3 clients parse it)
 * RegistryException.Unauthorized   401  WWW-Authenticate: Basic — the registry wants (other) credentials
 * RegistryException.Forbidden      403
 * RegistryException.RateLimited    503  Retry-After: the registry's, or 10 s when it did not say
 * RegistryException.Unavailable    502 unreachable or 5xx, 503 overloaded, 504 timed out
 * RegistryException.Protocol       502  an answer we cannot use (a manifest that is not a cache file's)
 * RegistryException.Refused        403  not on --allow-registry, or a connection to a non-public address
 *                                       (a fixed line naming the flag: never the address a registry gave)
 * IntegrityException               502  the registry's bytes are not what it announced
 * FormatException                  400  the client's path, key, header or body is malformed
 * anything else                    500  "internal error" (the details go to the log only)
 * </pre>
 *
 * <p>A registry failure is never a 404: Nix remembers a 404 as "not in this cache" for an hour.
 * What a body may say, and what only the log, is {@link ErrorText}'s to decide.
 */
public final class ErrorResponses {

  static final String NO_SUCH_KEY = "<Error><Code>NoSuchKey</Code></Error>";

  private ErrorResponses() {}

  /**
   * An error's answer.
   *
   * @param serverSide true when the server or the registry failed (logged at warn), false for a
   *     client's mistake or a plain miss (logged at debug)
   */
  public record ErrorResponse(
      HttpResponseStatus status,
      String contentType,
      String body,
      Map<String, String> headers,
      boolean serverSide) {}

  private static final ErrorTable<ErrorResponse> PLAIN =
      ErrorTable.<ErrorResponse>builder()
          .on(
              Rejection.class,
              r ->
                  new ErrorResponse(
                      r.status(), Responses.TEXT, line(r), r.headers(), r.serverSide()))
          .on(FormatException.class, e -> text(BAD_REQUEST, e, false))
          .on(IntegrityException.class, e -> text(BAD_GATEWAY, e, true))
          .on(
              RegistryException.NotFound.class,
              e -> new ErrorResponse(NOT_FOUND, Responses.XML, NO_SUCH_KEY, Map.of(), false))
          .on(
              RegistryException.Unauthorized.class,
              e ->
                  new ErrorResponse(
                      UNAUTHORIZED,
                      Responses.TEXT,
                      line(e),
                      Map.of(HttpHeaderNames.WWW_AUTHENTICATE.toString(), "Basic realm=\"oranc\""),
                      false))
          .on(RegistryException.Forbidden.class, e -> text(FORBIDDEN, e, false))
          .on(
              RegistryException.RateLimited.class,
              e ->
                  new ErrorResponse(
                      SERVICE_UNAVAILABLE,
                      Responses.TEXT,
                      line(e),
                      Map.of(
                          HttpHeaderNames.RETRY_AFTER.toString(),
                          Long.toString(ErrorText.retryAfterSeconds(e))),
                      true))
          .on(RegistryException.Unavailable.class, e -> text(status(e.reason()), e, true))
          .on(RegistryException.Protocol.class, e -> text(BAD_GATEWAY, e, true))
          .on(RegistryException.Refused.class, e -> text(FORBIDDEN, e, false))
          .otherwise(
              e ->
                  new ErrorResponse(
                      INTERNAL_SERVER_ERROR,
                      Responses.TEXT,
                      ErrorText.INTERNAL_ERROR,
                      Map.of(),
                      true));

  static ErrorResponse of(Throwable error) {
    return PLAIN.answer(error);
  }

  /** Whether a kind of error has a row of its own in the plain face (for the test). */
  static boolean hasRowFor(Class<? extends Throwable> kind) {
    return PLAIN.hasRowFor(kind);
  }

  private static HttpResponseStatus status(Reason reason) {
    return switch (reason) {
      case TIMEOUT -> HttpResponseStatus.GATEWAY_TIMEOUT;
      case OVERLOADED -> HttpResponseStatus.SERVICE_UNAVAILABLE;
      case UNREACHABLE, SERVER_ERROR -> HttpResponseStatus.BAD_GATEWAY;
    };
  }

  private static ErrorResponse text(HttpResponseStatus status, Throwable e, boolean serverSide) {
    return new ErrorResponse(status, Responses.TEXT, line(e), Map.of(), serverSide);
  }
}
