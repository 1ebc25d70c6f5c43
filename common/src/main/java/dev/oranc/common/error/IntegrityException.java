package dev.oranc.common.error;

/**
 * Data that is well-formed but not what it claims to be: a NAR whose hash or size differs from
 * the database, a blob whose digest differs from what the registry announced, a signature that
 * does not verify. The message names the object and both values.
 */
public final class IntegrityException extends OrancException {

  public IntegrityException(String message) {
    super(message);
  }
}
