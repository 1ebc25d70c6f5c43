package dev.oranc.retention.gc;

import java.time.Duration;
import java.util.Objects;

/**
 * {@code oranc gc}'s settings.
 *
 * @param keep a narinfo written within this long ago is live with its closure ({@code --keep-days})
 * @param grace nothing written within this long ago is deleted ({@code --grace}), so a push or
 *     {@code nix copy} running meanwhile loses nothing
 * @param deleteUndated {@code --undated delete}: keys without a written time are judged like old
 *     ones; by default they are kept
 * @param parallelism manifests read, and deletes sent, at a time ({@code -p})
 * @param maxDeletesPerMinute deletes spread to at most this many a minute; 0 for no limit
 */
public record GcOptions(
    Duration keep,
    Duration grace,
    boolean deleteUndated,
    boolean dryRun,
    int parallelism,
    int maxDeletesPerMinute) {

  /**
   * GitHub's secondary limits allow about 80 content-changing requests a minute per user; 60 leaves
   * room for the pushes that run meanwhile with the same token.
   */
  public static final int DEFAULT_MAX_DELETES_PER_MINUTE = 60;

  public GcOptions {
    Objects.requireNonNull(keep, "keep");
    Objects.requireNonNull(grace, "grace");
    if (keep.isNegative()) {
      throw new IllegalArgumentException(
          "--keep-days: " + keep.toDays() + " (expected: 0 or more)");
    }
    if (grace.isNegative()) {
      throw new IllegalArgumentException("--grace: " + grace + " (expected: 0s or more)");
    }
    if (parallelism < 1) {
      throw new IllegalArgumentException("-p: " + parallelism + " (expected: at least 1)");
    }
    if (maxDeletesPerMinute < 0) {
      throw new IllegalArgumentException(
          "--max-deletes-per-minute: "
              + maxDeletesPerMinute
              + " (expected: 0 for no limit, or more)");
    }
  }
}
