package dev.oranc.proxy.s3;

import dev.oranc.proxy.error.Rejection;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Map;

/**
 * What the S3 face refuses, in S3's own terms: each kind is an S3 error code that S3 clients know,
 * with the status S3 gives it (a request that is not signed for S3 gets the same status, with the
 * message as text; {@link S3Errors} writes S3's XML). Sealed so the error mapper's test can walk
 * every kind.
 */
public abstract sealed class S3Rejected extends Rejection
    permits S3Rejected.BadDigest,
        S3Rejected.IncompleteBody,
        S3Rejected.NoSuchUpload,
        S3Rejected.InvalidPart,
        S3Rejected.InvalidPartOrder,
        S3Rejected.MalformedXml,
        S3Rejected.SlowDown {

  private final String code;

  S3Rejected(HttpResponseStatus status, String code, String message) {
    super(status, message);
    this.code = code;
  }

  /** The S3 error code, e.g. {@code BadDigest}. */
  public final String code() {
    return code;
  }

  /**
   * A body's checksum (Content-MD5, x-amz-checksum-*, the payload's SHA-256) does not match it
   * (400).
   */
  public static final class BadDigest extends S3Rejected {
    public BadDigest(String message) {
      super(HttpResponseStatus.BAD_REQUEST, "BadDigest", message);
    }
  }

  /** An aws-chunked body whose framing or length is not what its headers announced (400). */
  public static final class IncompleteBody extends S3Rejected {
    public IncompleteBody(String message) {
      super(HttpResponseStatus.BAD_REQUEST, "IncompleteBody", message);
    }
  }

  /** No multipart upload with this id for these credentials (404). */
  public static final class NoSuchUpload extends S3Rejected {
    public NoSuchUpload(String message) {
      super(HttpResponseStatus.NOT_FOUND, "NoSuchUpload", message);
    }
  }

  /** A listed part was not uploaded, has another ETag, or cannot be used (400). */
  public static final class InvalidPart extends S3Rejected {
    public InvalidPart(String message) {
      super(HttpResponseStatus.BAD_REQUEST, "InvalidPart", message);
    }
  }

  /** The parts of a CompleteMultipartUpload are not in ascending order (400). */
  public static final class InvalidPartOrder extends S3Rejected {
    public InvalidPartOrder(String message) {
      super(HttpResponseStatus.BAD_REQUEST, "InvalidPartOrder", message);
    }
  }

  /** A request's XML body cannot be read (400). */
  public static final class MalformedXml extends S3Rejected {
    public MalformedXml(String message) {
      super(HttpResponseStatus.BAD_REQUEST, "MalformedXML", message);
    }
  }

  /**
   * The server cannot take this now (the multipart spool is full, or this client holds as many
   * uploads as one client may): 503 with Retry-After.
   */
  public static final class SlowDown extends S3Rejected {
    private final long retryAfterSeconds;
    private final boolean clientAtItsLimit;

    public SlowDown(String message, long retryAfterSeconds) {
      this(message, retryAfterSeconds, false);
    }

    private SlowDown(String message, long retryAfterSeconds, boolean clientAtItsLimit) {
      super(HttpResponseStatus.SERVICE_UNAVAILABLE, "SlowDown", message);
      this.retryAfterSeconds = retryAfterSeconds;
      this.clientAtItsLimit = clientAtItsLimit;
    }

    /**
     * The client is at its own allowance: the client's doing, not the server's trouble (so it is
     * not logged as a warning: a client must not be able to flood the log at warn).
     */
    public static SlowDown clientAtItsLimit(String message, long retryAfterSeconds) {
      return new SlowDown(message, retryAfterSeconds, true);
    }

    public long retryAfterSeconds() {
      return retryAfterSeconds;
    }

    public boolean clientAtItsLimit() {
      return clientAtItsLimit;
    }

    @Override
    public Map<String, String> headers() {
      return Map.of(
          HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(Math.max(1, retryAfterSeconds)));
    }

    /** The server's trouble (warn), unless the client is at its own allowance (debug). */
    @Override
    public boolean serverSide() {
      return !clientAtItsLimit;
    }
  }
}
