package dev.oranc.common.error;

import java.util.Objects;

/**
 * A registry operation that did not succeed. Each kind carries the operation (for example
 * {@code GET manifest ghcr.io/owner/cache:abc}) so that an operator can see what failed where.
 *
 * <p>Kinds and their meaning for callers:
 *
 * <ul>
 *   <li>{@link NotFound}: the registry answered that the object does not exist. The only kind
 *       that may be reported as a miss.
 *   <li>{@link Unauthorized}: credentials missing or refused (401).
 *   <li>{@link Forbidden}: credentials accepted but not allowed (403).
 *   <li>{@link RateLimited}: 429, with the registry's {@code Retry-After} when given.
 *   <li>{@link Unavailable}: unreachable, timed out, or a 5xx.
 *   <li>{@link Protocol}: an answer we cannot use (bad JSON, wrong layout, over a size bound).
 *   <li>{@link Refused}: we would not ask: the registry is not one the server serves, or a
 *       connection would go to an address the server's policy does not connect to.
 * </ul>
 */
public abstract sealed class RegistryException extends OrancException
    permits RegistryException.NotFound,
        RegistryException.Unauthorized,
        RegistryException.Forbidden,
        RegistryException.RateLimited,
        RegistryException.Unavailable,
        RegistryException.Protocol,
        RegistryException.Refused {

  private final String operation;

  RegistryException(String operation, String detail, Throwable cause) {
    super(Objects.requireNonNull(operation, "operation") + ": " + detail, cause);
    this.operation = operation;
  }

  /** What was attempted, e.g. {@code GET manifest 127.0.0.1:5000/a/b:nix-cache-info}. */
  public String operation() {
    return operation;
  }

  /** The registry said the object does not exist. */
  public static final class NotFound extends RegistryException {
    public NotFound(String operation, String detail) {
      super(operation, detail, null);
    }
  }

  /** The registry wants credentials, or refused the ones given (HTTP 401). */
  public static final class Unauthorized extends RegistryException {
    public Unauthorized(String operation, String detail) {
      super(operation, detail, null);
    }
  }

  /** The registry accepted the credentials but denies the operation (HTTP 403). */
  public static final class Forbidden extends RegistryException {
    public Forbidden(String operation, String detail) {
      super(operation, detail, null);
    }
  }

  /** The registry rate-limits us (HTTP 429). */
  public static final class RateLimited extends RegistryException {
    private final long retryAfterSeconds;

    public RateLimited(String operation, String detail, long retryAfterSeconds) {
      super(operation, detail, null);
      this.retryAfterSeconds = retryAfterSeconds;
    }

    /** Seconds the registry asked us to wait; negative when it did not say. */
    public long retryAfterSeconds() {
      return retryAfterSeconds;
    }
  }

  /** The registry could not be reached, timed out, or failed (5xx). */
  public static final class Unavailable extends RegistryException {

    /** Why the registry is unavailable; decides 502, 503 or 504 at the server. */
    public enum Reason {
      UNREACHABLE,
      TIMEOUT,
      SERVER_ERROR,
      OVERLOADED
    }

    private final Reason reason;
    private final int status;

    public Unavailable(String operation, String detail, Reason reason, int status, Throwable cause) {
      super(operation, detail, cause);
      this.reason = Objects.requireNonNull(reason, "reason");
      this.status = status;
    }

    public Reason reason() {
      return reason;
    }

    /** The registry's HTTP status, or 0 when there was no answer. */
    public int status() {
      return status;
    }
  }

  /** The registry answered something we cannot use: bad JSON, a wrong layout, over a bound. */
  public static final class Protocol extends RegistryException {
    public Protocol(String operation, String detail) {
      super(operation, detail, null);
    }

    public Protocol(String operation, String detail, Throwable cause) {
      super(operation, detail, cause);
    }
  }

  /**
   * Refused on our side, by policy, before or instead of a connection: never the registry's
   * answer, so never retried. The message is for the log (it may name an address a registry
   * gave); the server answers the client with a fixed line.
   */
  public static final class Refused extends RegistryException {

    /** What refused it. */
    public enum Reason {
      /** The server's {@code --allow-registry} patterns do not name the registry. */
      NOT_ALLOWED,
      /** A connection would go to a loopback, private or otherwise internal address. */
      ADDRESS
    }

    private final Reason reason;

    public Refused(String operation, String detail, Reason reason, Throwable cause) {
      super(operation, detail, cause);
      this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
      return reason;
    }
  }
}
