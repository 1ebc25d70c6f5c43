package dev.oranc.proxy.error;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Map;

/**
 * The root of what the server refuses on its own, before or instead of asking a registry: {@link
 * RequestRejected} (any request) and {@code proxy.s3.S3Rejected} (the S3 face). Each kind carries
 * its answer, the status and the headers that go with it, which both faces give as they are ({@code
 * ErrorResponses} as a one-line text, {@code S3Errors} with S3's code in S3's XML).
 *
 * <p>Not sealed: its two children live in different packages. Each of them is sealed, and the error
 * mapper's test walks both.
 */
public abstract class Rejection extends RuntimeException {

  private final HttpResponseStatus status;

  protected Rejection(HttpResponseStatus status, String message) {
    // No stack trace: these are answers, not bugs, and they are never logged with one.
    super(message, null, false, false);
    this.status = status;
  }

  public final HttpResponseStatus status() {
    return status;
  }

  /** The headers the status needs ({@code Allow}, {@code Retry-After}, {@code Content-Range}). */
  public Map<String, String> headers() {
    return Map.of();
  }

  /** True when the server is in trouble (logged at warn); false for the client's doing. */
  public boolean serverSide() {
    return false;
  }
}
