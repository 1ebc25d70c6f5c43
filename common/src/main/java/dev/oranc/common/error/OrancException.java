package dev.oranc.common.error;

/**
 * The root of every error oranc reports to a user or a client.
 *
 * <p>The hierarchy is small and sealed so that the places that turn errors into answers (the
 * server's error responses, the CLI's one-line messages) can be checked to handle every kind
 * deliberately: their tests walk {@link Class#getPermittedSubclasses()}.
 *
 * <p>Messages are written for the person who has to act on them: what was wrong, where, and (when
 * it helps) what to do. They never contain credentials, tokens or signing keys.
 *
 * <p>{@link #getMessage()} is for the operator (logs, the CLI's one-line errors) and may quote what
 * a registry sent; {@link #publicMessage()} is what a remote client of the server may be told, and
 * never quotes a byte a registry or a redirect target sent (see {@link RegistryException}).
 */
public abstract sealed class OrancException extends RuntimeException
    permits FormatException, IntegrityException, RegistryException {

  protected OrancException(String message) {
    super(message);
  }

  protected OrancException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * The message in our own words only: what a client of the server may see. The same as {@link
   * #getMessage()} unless a subclass holds text it did not write.
   */
  public String publicMessage() {
    return getMessage();
  }
}
