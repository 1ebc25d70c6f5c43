package dev.oranc.push.upload;

import java.io.IOException;

/** The registry upload behind a {@link BlobOutputStream} failed; the cause says how. */
public final class UploadFailedException extends IOException {
  public UploadFailedException(Throwable cause) {
    super(cause.getMessage(), cause);
  }
}
