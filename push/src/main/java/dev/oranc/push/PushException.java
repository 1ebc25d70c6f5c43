package dev.oranc.push;

/**
 * Why {@code oranc push} stopped before uploading anything: the input, the Nix database or the
 * signing key is unusable. Each message is one line that names the problem and, where there is one,
 * the fix. Failures of single paths during the upload are not exceptions but part of the {@link
 * PushReport}: the other paths go on.
 *
 * <p>Not part of {@code OrancException}: that hierarchy is sealed in {@code common} and mapped to
 * HTTP answers by the server, and none of these can happen there.
 */
public abstract sealed class PushException extends RuntimeException
    permits PushException.BadInput, PushException.Database, PushException.SigningKey {

  PushException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A line of standard input that is not a store path, or a path the store does not have. */
  public static final class BadInput extends PushException {
    public BadInput(String message) {
      super(message, null);
    }

    public BadInput(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The Nix database cannot be opened or read, or holds something we cannot use. */
  public static final class Database extends PushException {
    public Database(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** {@code ORANC_SIGNING_KEY} is missing or malformed. The message never shows key material. */
  public static final class SigningKey extends PushException {
    public SigningKey(String message) {
      super(message, null);
    }
  }
}
