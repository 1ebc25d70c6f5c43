package dev.oranc.proxy.request;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.OrancException;
import dev.oranc.proxy.metrics.ServerMetrics;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Small helpers for futures: timing registry operations, a synchronous throw as a failure. Public
 * for the handlers of both faces ({@code proxy.http}, {@code proxy.s3}).
 */
public final class Failures {

  private Failures() {}

  /** Counts and times one registry operation in the metrics, by its outcome. */
  public static <T> CompletableFuture<T> timed(
      ServerMetrics metrics, String operation, CompletableFuture<T> f) {
    long start = System.nanoTime();
    f.whenComplete(
        (value, error) -> {
          String outcome;
          if (error != null) {
            Throwable cause = Causes.of(error);
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
  public static <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> supplier) {
    try {
      return supplier.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
