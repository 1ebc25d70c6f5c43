package dev.oranc.retention;

/**
 * Why {@code pin}, {@code gc} or {@code check} stopped: a pin name or pin file that cannot be used,
 * a cache that could not be read whole (gc never plans from a partial view), deletes the registry
 * refuses. One line that names the problem and, where there is one, the fix.
 *
 * <p>Not part of {@code OrancException}, which is sealed in {@code common} and mapped to HTTP
 * answers by the server: none of these can happen there.
 */
public final class RetentionException extends RuntimeException {

  public RetentionException(String message) {
    super(message);
  }

  public RetentionException(String message, Throwable cause) {
    super(message, cause);
  }
}
