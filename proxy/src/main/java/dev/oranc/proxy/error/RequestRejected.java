package dev.oranc.proxy.error;

import static dev.oranc.proxy.error.ErrorText.abbreviate;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.List;
import java.util.Map;

/**
 * A request the server refuses before asking any registry: a path that names no cache file, a
 * method it does not serve, an initial line or headers over the limits, a body it cannot take, or a
 * server that is shutting down. Each kind carries its status and the headers that go with it; the
 * message is one line, for the client, saying what was wrong.
 *
 * <p>Sealed so that the error mapper's test can walk every kind. Malformed input that a common
 * parser rejects (a repository name, a tag, base64) stays a {@link
 * dev.oranc.common.error.FormatException}, which is a 400 as well.
 */
public abstract sealed class RequestRejected extends Rejection
    permits RequestRejected.BadRequest,
        RequestRejected.NoSuchRoute,
        RequestRejected.MethodNotAllowed,
        RequestRejected.UriTooLong,
        RequestRejected.HeadersTooLarge,
        RequestRejected.ShuttingDown,
        RequestRejected.RangeNotSatisfiable,
        RequestRejected.TooBusy {

  /** One of the client's own streams will likely have finished by then. */
  static final long TOO_BUSY_RETRY_AFTER_SECONDS = 2;

  RequestRejected(HttpResponseStatus status, String message) {
    super(status, message);
  }

  /** A request that is malformed in a way no common parser names (400). */
  public static final class BadRequest extends RequestRejected {
    public BadRequest(String message) {
      super(HttpResponseStatus.BAD_REQUEST, message);
    }
  }

  /** A path that names no cache file and no service (404). */
  public static final class NoSuchRoute extends RequestRejected {
    public NoSuchRoute(String message) {
      super(HttpResponseStatus.NOT_FOUND, message);
    }
  }

  /** A method the path does not serve (405, with {@code Allow}). */
  public static final class MethodNotAllowed extends RequestRejected {
    private final List<String> allowed;

    public MethodNotAllowed(String method, List<String> allowed) {
      // The codec only lets tokens through, but this message must hold whatever it is given.
      super(
          HttpResponseStatus.METHOD_NOT_ALLOWED,
          "method "
              + abbreviate(method.length() > 32 ? method.substring(0, 32) : method)
              + " is not allowed here; allowed: "
              + String.join(", ", allowed));
      this.allowed = List.copyOf(allowed);
    }

    public List<String> allowed() {
      return allowed;
    }

    @Override
    public Map<String, String> headers() {
      return Map.of(HttpHeaderNames.ALLOW.toString(), String.join(", ", allowed));
    }
  }

  /** The request line is longer than the server accepts (414). */
  public static final class UriTooLong extends RequestRejected {
    public UriTooLong(int limit) {
      super(
          HttpResponseStatus.REQUEST_URI_TOO_LONG,
          "the request line is longer than " + limit + " bytes");
    }
  }

  /** The headers are larger than the server accepts (431). */
  public static final class HeadersTooLarge extends RequestRejected {
    public HeadersTooLarge(int limit) {
      super(
          HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
          "the request headers are larger than " + limit + " bytes");
    }
  }

  /**
   * The client's address has as many downloads and uploads in flight as the server allows one
   * client (503, with {@code Retry-After}).
   */
  public static final class TooBusy extends RequestRejected {
    public TooBusy(int limit) {
      super(
          HttpResponseStatus.SERVICE_UNAVAILABLE,
          "this client has "
              + limit
              + " downloads and uploads in flight, the most the server allows"
              + " one client; retry when one has finished");
    }

    @Override
    public Map<String, String> headers() {
      return Map.of(
          HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(TOO_BUSY_RETRY_AFTER_SECONDS));
    }
  }

  /** The server is draining for shutdown and takes no new requests (503). */
  public static final class ShuttingDown extends RequestRejected {
    public ShuttingDown() {
      super(
          HttpResponseStatus.SERVICE_UNAVAILABLE,
          "the server is shutting down; retry against another instance or later");
    }

    @Override
    public Map<String, String> headers() {
      return Map.of(HttpHeaderNames.RETRY_AFTER.toString(), "1");
    }
  }

  /**
   * A {@code Range} that starts at or past the end of the file (416, {@code Content-Range: bytes
   * *}/size).
   */
  public static final class RangeNotSatisfiable extends RequestRejected {
    private final long size;

    public RangeNotSatisfiable(String range, long size) {
      super(
          HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
          "range " + abbreviate(range) + " is not satisfiable: the file has " + size + " bytes");
      this.size = size;
    }

    public long size() {
      return size;
    }

    @Override
    public Map<String, String> headers() {
      return Map.of(HttpHeaderNames.CONTENT_RANGE.toString(), "bytes */" + size);
    }
  }
}
