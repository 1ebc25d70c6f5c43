package dev.oranc.proxy.request;

import dev.oranc.common.error.OrancException;
import dev.oranc.proxy.metrics.ServerMetrics;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Small helpers for futures: the real cause of a failure, and timing registry operations. Public
 * for the handlers of both faces ({@code proxy.http}, {@code proxy.s3}).
 */
public final class Failures {

  private Failures() {}

  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** Counts and times one registry operation in the metrics, by its outcome. */
  public static <T> CompletableFuture<T> timed(ServerMetrics metrics, String operation, CompletableFuture<T> f) {
    long start = System.nanoTime();
    f.whenComplete(
        (value, error) -> {
          String outcome;
          if (error != null) {
            Throwable cause = unwrap(error);
            outcome = cause instanceof OrancException ? cause.getClass().getSimpleName() : "error";
          } else if (value instanceof Optional<?> o && o.isEmpty()) {
            outcome = "miss";
          } else {
            outcome = "ok";
          }
          metrics.registry(operation, outcome, System.nanoTime() - start);
        });
    return f;
  }

  /** Runs {@code supplier}, turning a synchronous throw into a failed future. */
  public static <T> CompletableFuture<T> call(java.util.function.Supplier<CompletableFuture<T>> supplier) {
    try {
      return supplier.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
