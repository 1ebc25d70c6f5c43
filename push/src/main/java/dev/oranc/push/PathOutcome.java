package dev.oranc.push;

import dev.oranc.common.nix.store.StorePath;
import java.util.Objects;

/**
 * What a push did with one path of the closure.
 *
 * @param detail why it was skipped or failed; empty otherwise
 * @param narBytes the NAR's size when this push compressed it, else 0
 * @param fileBytes the compressed size when this push uploaded it, else 0
 */
public record PathOutcome(
    StorePath path, Status status, String detail, long narBytes, long fileBytes) {

  public enum Status {
    /** NAR and narinfo uploaded. */
    PUSHED(true, false),
    /** The NAR was in the registry already; the narinfo was uploaded. */
    NARINFO_ONLY(true, false),
    /** Its narinfo, signed by us, was in the registry already. */
    IN_REGISTRY(false, false),
    /** Left out by a skip rule ({@code -e}, or signed by our key already). */
    SKIPPED(false, false),
    /** Its upload failed. */
    FAILED(false, true),
    /** A path it refers to failed, so its narinfo was not published. */
    DEPENDENCY_FAILED(false, true);

    private final boolean pushed;
    private final boolean failed;

    Status(boolean pushed, boolean failed) {
      this.pushed = pushed;
      this.failed = failed;
    }

    /** This push put its narinfo up. */
    public boolean pushed() {
      return pushed;
    }

    public boolean failed() {
      return failed;
    }
  }

  public PathOutcome {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(detail, "detail");
  }
}
