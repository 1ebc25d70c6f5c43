package dev.oranc.common.error;

import java.util.Objects;

/**
 * A registry operation that did not succeed. Each kind carries the operation (for example {@code
 * GET manifest ghcr.io/owner/cache:abc}) so that an operator can see what failed where.
 *
 * <p>Kinds and their meaning for callers:
 *
 * <ul>
 *   <li>{@link NotFound}: the registry answered that the object does not exist. The only kind that
 *       may be reported as a miss.
 *   <li>{@link Unauthorized}: credentials missing or refused (401).
 *   <li>{@link Forbidden}: credentials accepted but not allowed (403).
 *   <li>{@link RateLimited}: 429, with the registry's {@code Retry-After} when given.
 *   <li>{@link Unavailable}: unreachable, timed out, or a 5xx.
 *   <li>{@link Protocol}: an answer we cannot use (bad JSON, wrong layout, over a size bound).
 *   <li>{@link Refused}: we would not ask: the registry is not one the server serves, or a
 *       connection would go to an address the server's policy does not connect to.
 * </ul>
 *
 * <p>Design note. The server tells its clients why a registry operation failed, but a registry (or
 * whatever a redirect or a path points the server at) is not trusted: quoting its bytes back would
 * let a client read a banner, an error body or the size of a response it could not reach itself,
 * which turns the server into a port scanner and an oracle. So an exception holds two texts: the
 * {@code detail}, in our own words only (status codes, counts of our own, what we expected), which
 * {@link #publicMessage()} gives and the server's error bodies carry; and the {@code foreign} part
 * — the registry's error message, a parser's complaint quoting a banner, a header value — which
 * only {@link #getMessage()} adds, for the log and the CLI. Foreign text is flattened to one
 * printable, bounded line here, whoever built the exception.
 */
public abstract sealed class RegistryException extends OrancException
    permits RegistryException.NotFound,
        RegistryException.Unauthorized,
        RegistryException.Forbidden,
        RegistryException.RateLimited,
        RegistryException.Unavailable,
        RegistryException.Protocol,
        RegistryException.Refused {

  /** The most of a registry's own text kept for the log. */
  static final int MAX_FOREIGN = 300;

  private final String operation;
  private final String detail;

  RegistryException(String operation, String detail, Throwable cause) {
    this(operation, detail, null, cause);
  }

  /**
   * @param detail in our own words: may reach a client
   * @param foreign what the registry (or the connection) said, or null: the log's only
   */
  RegistryException(String operation, String detail, String foreign, Throwable cause) {
    super(
        Objects.requireNonNull(operation, "operation")
            + ": "
            + detail
            + (foreign == null || foreign.isBlank() ? "" : " (" + printable(foreign) + ")"),
        cause);
    this.operation = operation;
    this.detail = detail;
  }

  /** The operation and what went wrong in our own words: never a byte the registry chose. */
  @Override
  public String publicMessage() {
    return operation + ": " + detail;
  }

  /**
   * Foreign text as one bounded, printable line: line breaks and tabs become spaces, any other
   * control character '?', at most {@value #MAX_FOREIGN} characters.
   */
  public static String printable(String foreign) {
    if (foreign == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(Math.min(foreign.length(), MAX_FOREIGN + 1));
    for (int i = 0; i < foreign.length() && b.length() < MAX_FOREIGN; i++) {
      char c = foreign.charAt(i);
      b.append(c == '\r' || c == '\n' || c == '\t' ? ' ' : Character.isISOControl(c) ? '?' : c);
    }
    return foreign.length() > MAX_FOREIGN ? b + "…" : b.toString();
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

    public NotFound(String operation, String detail, String foreign) {
      super(operation, detail, foreign, null);
    }
  }

  /** The registry wants credentials, or refused the ones given (HTTP 401). */
  public static final class Unauthorized extends RegistryException {
    public Unauthorized(String operation, String detail) {
      super(operation, detail, null);
    }

    public Unauthorized(String operation, String detail, String foreign) {
      super(operation, detail, foreign, null);
    }
  }

  /** The registry accepted the credentials but denies the operation (HTTP 403). */
  public static final class Forbidden extends RegistryException {
    public Forbidden(String operation, String detail) {
      super(operation, detail, null);
    }

    public Forbidden(String operation, String detail, String foreign) {
      super(operation, detail, foreign, null);
    }
  }

  /** The registry rate-limits us (HTTP 429). */
  public static final class RateLimited extends RegistryException {
    private final long retryAfterSeconds;

    public RateLimited(String operation, String detail, long retryAfterSeconds) {
      this(operation, detail, null, retryAfterSeconds);
    }

    public RateLimited(String operation, String detail, String foreign, long retryAfterSeconds) {
      super(operation, detail, foreign, null);
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

    public Unavailable(
        String operation, String detail, Reason reason, int status, Throwable cause) {
      this(operation, detail, null, reason, status, cause);
    }

    public Unavailable(
        String operation,
        String detail,
        String foreign,
        Reason reason,
        int status,
        Throwable cause) {
      super(operation, detail, foreign, cause);
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

    public Protocol(String operation, String detail, String foreign, Throwable cause) {
      super(operation, detail, foreign, cause);
    }
  }

  /**
   * Refused on our side, by policy, before or instead of a connection: never the registry's answer,
   * so never retried. The message is for the log (it may name an address a registry gave); the
   * server answers the client with a fixed line.
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
      this(operation, detail, null, reason, cause);
    }

    /**
     * @param foreign the host and address refused (a redirect's or realm's, so the log's only)
     */
    public Refused(
        String operation, String detail, String foreign, Reason reason, Throwable cause) {
      super(operation, detail, foreign, cause);
      this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
      return reason;
    }
  }
}
