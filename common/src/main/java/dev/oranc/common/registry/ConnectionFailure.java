package dev.oranc.common.registry;

import java.io.IOException;

/**
 * A failure of the connection itself rather than an answer from the registry: refused, reset,
 * closed early, timed out, malformed. Says whether any of the response had arrived, which decides
 * whether a request may be retried.
 */
final class ConnectionFailure extends IOException {

  enum Kind {
    CONNECT,
    CLOSED,
    TIMEOUT,
    MALFORMED,
    TLS,
    OVERLOADED,
    /** The address policy refused the address: not a failure to retry. */
    REFUSED
  }

  private final Kind kind;
  private final boolean responseStarted;

  ConnectionFailure(Kind kind, String message, boolean responseStarted, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.responseStarted = responseStarted;
  }

  Kind kind() {
    return kind;
  }

  /** True when part of a response had arrived: the request had reached the registry. */
  boolean responseStarted() {
    return responseStarted;
  }
}
