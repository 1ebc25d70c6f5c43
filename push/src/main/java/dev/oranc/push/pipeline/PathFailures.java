package dev.oranc.push.pipeline;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.OrancException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.push.upload.UploadFailedException;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a stage's failure means for its path: whether a NAR upload is worth another try, and the one
 * line the path's outcome and the log carry. One place, so every stage words a failure the same way
 * and looks through the same wrappers.
 */
final class PathFailures {

  /** {@link Pipeline}'s category: operators configure the push's pipeline by it. */
  private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

  private PathFailures() {}

  /**
   * Whether a failed NAR upload is worth another try: only a streamed chunk that broke off, which
   * the registry client cannot resend itself; everything else it has retried already, or will fail
   * the same way again.
   */
  static boolean retryable(Throwable error) {
    Throwable e = unwrap(error);
    return (e instanceof RegistryException.Unavailable
            || e instanceof RegistryException.RateLimited)
        && ((RegistryException) e).operation().startsWith("PATCH ");
  }

  /**
   * The failure inside the future wrappers ({@link Causes#of}) and the {@link
   * UploadFailedException} a {@code BlobOutputStream} write throws for the upload's failure.
   */
  static Throwable unwrap(Throwable e) {
    Throwable cause = Causes.of(e);
    while (cause instanceof UploadFailedException && cause.getCause() != null) {
      cause = Causes.of(cause.getCause());
    }
    return cause;
  }

  /** A one-line reason: oranc's own errors say what and where; others get their class named. */
  static String describe(Throwable error) {
    Throwable e = unwrap(error);
    if (e instanceof OrancException || e instanceof IOException) {
      return e.getMessage();
    }
    log.debug("unexpected failure", e);
    return "internal error: "
        + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }
}
