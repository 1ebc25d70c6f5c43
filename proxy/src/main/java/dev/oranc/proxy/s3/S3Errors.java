package dev.oranc.proxy.s3;

import static io.netty.handler.codec.http.HttpResponseStatus.BAD_GATEWAY;
import static io.netty.handler.codec.http.HttpResponseStatus.BAD_REQUEST;
import static io.netty.handler.codec.http.HttpResponseStatus.FORBIDDEN;
import static io.netty.handler.codec.http.HttpResponseStatus.INTERNAL_SERVER_ERROR;
import static io.netty.handler.codec.http.HttpResponseStatus.NOT_FOUND;
import static io.netty.handler.codec.http.HttpResponseStatus.SERVICE_UNAVAILABLE;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.proxy.error.ErrorTable;
import dev.oranc.proxy.error.ErrorText;
import dev.oranc.proxy.error.Rejection;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.request.ErrorResponseHandler;
import dev.oranc.proxy.request.ErrorResponses;
import dev.oranc.proxy.request.Responses;
import dev.oranc.proxy.route.AuthorizationParser;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Map;

/**
 * The S3 face of every error: what a request signed for S3 is answered, one row per kind. The plain
 * face is {@code proxy.request.ErrorResponses}; the test walks every kind through both.
 *
 * <pre>
 * S3Rejected.*                      its own status and code (BadDigest, NoSuchUpload, SlowDown…)
 * RequestRejected.*                 its own status and headers, with S3's code for it
 * FormatException                   400 InvalidArgument (the Authorization header's:
 *                                   AuthorizationHeaderMalformed)
 * IntegrityException                502 InternalError
 * RegistryException.NotFound        404 NoSuchKey
 * RegistryException.Unauthorized    403 InvalidAccessKeyId
 * RegistryException.Forbidden       403 AccessDenied
 * RegistryException.RateLimited     503 SlowDown, Retry-After: the registry's, or 10 s
 * RegistryException.Unavailable     503 SlowDown, Retry-After: 5 s
 * RegistryException.Protocol        502 InternalError
 * RegistryException.Refused         403 AccessDenied
 * anything else                     500 InternalError, "internal error"
 * </pre>
 *
 * <p>These are the codes S3 clients act on: a registry that is overloaded, rate-limits or fails
 * (429, 5xx, unreachable, timed out) is {@code 503 SlowDown} with {@code Retry-After}, which S3
 * clients retry (Nix from 2.35 too), and never a miss; refused credentials are {@code 403
 * InvalidAccessKeyId}, a denied operation {@code 403 AccessDenied}. The message is the plain face's
 * one line ({@link ErrorText#line}).
 */
public final class S3Errors {

  /** What an S3 client is told to wait after a registry 5xx, which gives no Retry-After. */
  public static final long UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

  /**
   * An error's S3 answer.
   *
   * @param serverSide true when the server or the registry failed (logged at warn)
   */
  public record S3Error(
      HttpResponseStatus status,
      String code,
      String message,
      Map<String, String> headers,
      boolean serverSide) {

    /** S3's XML error body. */
    public String body() {
      return S3Xml.error(code, message);
    }
  }

  private static final ErrorTable<S3Error> TABLE =
      ErrorTable.<S3Error>builder()
          .on(S3Rejected.class, r -> rejected(r, r.code()))
          .on(RequestRejected.BadRequest.class, r -> rejected(r, "InvalidRequest"))
          .on(RequestRejected.NoSuchRoute.class, r -> rejected(r, "NoSuchKey"))
          .on(RequestRejected.MethodNotAllowed.class, r -> rejected(r, "MethodNotAllowed"))
          .on(RequestRejected.UriTooLong.class, r -> rejected(r, "InvalidURI"))
          .on(
              RequestRejected.HeadersTooLarge.class,
              r -> rejected(r, "RequestHeaderSectionTooLarge"))
          .on(RequestRejected.ShuttingDown.class, r -> rejected(r, "SlowDown"))
          .on(RequestRejected.TooBusy.class, r -> rejected(r, "SlowDown"))
          .on(RequestRejected.RangeNotSatisfiable.class, r -> rejected(r, "InvalidRange"))
          .on(
              FormatException.class,
              f ->
                  answer(
                      BAD_REQUEST,
                      AuthorizationParser.SUBJECT.equals(f.subject())
                          ? "AuthorizationHeaderMalformed"
                          : "InvalidArgument",
                      f,
                      false))
          .on(IntegrityException.class, e -> answer(BAD_GATEWAY, "InternalError", e, true))
          .on(RegistryException.NotFound.class, e -> answer(NOT_FOUND, "NoSuchKey", e, false))
          .on(
              RegistryException.Unauthorized.class,
              e -> answer(FORBIDDEN, "InvalidAccessKeyId", e, false))
          .on(RegistryException.Forbidden.class, e -> answer(FORBIDDEN, "AccessDenied", e, false))
          .on(RegistryException.RateLimited.class, e -> slowDown(e, ErrorText.retryAfterSeconds(e)))
          // Whatever the reason (5xx, unreachable, timed out): a failure to retry, never a miss.
          .on(
              RegistryException.Unavailable.class,
              e -> slowDown(e, UNAVAILABLE_RETRY_AFTER_SECONDS))
          .on(RegistryException.Protocol.class, e -> answer(BAD_GATEWAY, "InternalError", e, true))
          .on(RegistryException.Refused.class, e -> answer(FORBIDDEN, "AccessDenied", e, false))
          .otherwise(
              e ->
                  new S3Error(
                      INTERNAL_SERVER_ERROR,
                      "InternalError",
                      ErrorText.INTERNAL_ERROR,
                      Map.of(),
                      true));

  private S3Errors() {}

  public static S3Error of(Throwable error) {
    return TABLE.answer(error);
  }

  /**
   * An error's answer to a request signed for S3: the status S3 would give and S3's XML body. The
   * server's assembly hands this to {@link ErrorResponseHandler}, the pipeline's end.
   */
  public static ErrorResponses.ErrorResponse response(Throwable error) {
    S3Error s3 = of(error);
    return new ErrorResponses.ErrorResponse(
        s3.status(), Responses.XML, s3.body(), s3.headers(), s3.serverSide());
  }

  /** Whether a kind of error has a row of its own (for the test). */
  public static boolean hasRowFor(Class<? extends Throwable> kind) {
    return TABLE.hasRowFor(kind);
  }

  private static S3Error rejected(Rejection r, String code) {
    return new S3Error(r.status(), code, ErrorText.line(r), r.headers(), r.serverSide());
  }

  private static S3Error slowDown(Throwable e, long seconds) {
    return new S3Error(
        SERVICE_UNAVAILABLE,
        "SlowDown",
        ErrorText.line(e),
        Map.of(HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(seconds)),
        true);
  }

  private static S3Error answer(
      HttpResponseStatus status, String code, Throwable e, boolean serverSide) {
    return new S3Error(status, code, ErrorText.line(e), Map.of(), serverSide);
  }
}
