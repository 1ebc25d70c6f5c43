package dev.oranc.common.error;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The failure a future reports, without the wrappers futures put around it.
 *
 * <p>Design note. {@code CompletableFuture} hands a dependent stage its cause wrapped in a {@code
 * CompletionException}, and {@code get()} wraps it in an {@code ExecutionException}; a chain of
 * stages may wrap it more than once. What a caller maps to an answer, a log line or a retry is the
 * failure inside. Only these two wrappers are removed, and only while they carry a cause: any other
 * exception is the failure itself.
 */
public final class Causes {

  private Causes() {}

  /** {@code t} without its {@code CompletionException}/{@code ExecutionException} wrappers. */
  public static Throwable of(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
