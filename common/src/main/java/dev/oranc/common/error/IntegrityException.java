package dev.oranc.common.error;

/**
 * Data that is well-formed but not what it claims to be: a NAR whose hash or size differs from the
 * database, a blob whose digest differs from what the registry announced, a signature that does not
 * verify. The message names the object and both values.
 *
 * <p>When one of the values came from a registry (the digest of what it sent, a header), it is the
 * {@code detail}: in {@link #getMessage()} for the log, never in {@link #publicMessage()}, so that
 * a client cannot learn anything about content the server fetched and refused.
 */
public final class IntegrityException extends OrancException {

  private final String publicMessage;

  public IntegrityException(String message) {
    super(message);
    this.publicMessage = message;
  }

  /**
   * @param message in our own words, e.g. {@code GET blob …: the registry sent other content}
   * @param detail what the registry sent (bounded and made printable here), for the log only
   */
  public IntegrityException(String message, String detail) {
    super(message + " (" + RegistryException.printable(detail) + ")");
    this.publicMessage = message;
  }

  @Override
  public String publicMessage() {
    return publicMessage;
  }
}
