package dev.oranc.common.registry.transport;

import java.io.IOException;

/**
 * A failure of the connection itself rather than an answer from the registry: refused, reset,
 * closed early, timed out, malformed. Says whether any of the response had arrived, which decides
 * whether a request may be retried.
 */
public final class ConnectionFailure extends IOException {

  public enum Kind {
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

  /** Ours, for both texts: {@code (after 3 attempts)}. */
  private final String note;

  /**
   * @param message for the log: may quote what the peer sent (a banner in a parser's complaint) and
   *     names the origin, which after a redirect is the registry's choice
   */
  public ConnectionFailure(Kind kind, String message, boolean responseStarted, Throwable cause) {
    this(kind, message, responseStarted, cause, "");
  }

  private ConnectionFailure(
      Kind kind, String message, boolean responseStarted, Throwable cause, String note) {
    super(message + note, cause);
    this.kind = kind;
    this.responseStarted = responseStarted;
    this.note = note;
  }

  /** The same failure with a note of ours added to both texts. */
  public ConnectionFailure withNote(String note) {
    return new ConnectionFailure(kind, detail(), responseStarted, getCause(), this.note + note);
  }

  /** The message without the note: what the connection said, for the log. */
  public String detail() {
    String message = getMessage();
    return message.substring(0, message.length() - note.length());
  }

  /**
   * What happened, in our own words, naming neither the peer nor anything it sent: what a client of
   * the server may be told (the operation in front of it names the registry it asked for).
   */
  public String publicPhrase() {
    String phrase =
        switch (kind) {
          case CONNECT -> "cannot connect to the registry";
          case CLOSED ->
              responseStarted
                  ? "the connection to the registry broke during its answer"
                  : "the connection to the registry closed or failed before it answered";
          case TIMEOUT ->
              responseStarted
                  ? "the registry stopped sending its answer (read timeout)"
                  : "the registry did not answer in time (read timeout)";
          case MALFORMED -> "the registry's answer is not HTTP we can read";
          case TLS -> "TLS with the registry failed (a registry without TLS needs --no-ssl)";
          case OVERLOADED ->
              "no free connection to the registry in time (too many requests to it in flight)";
          case REFUSED ->
              "refused to connect: the address is not public (a registry on an internal"
                  + " address must be named by --allow-registry)";
        };
    return phrase + note;
  }

  public Kind kind() {
    return kind;
  }

  /** True when part of a response had arrived: the request had reached the registry. */
  public boolean responseStarted() {
    return responseStarted;
  }
}
