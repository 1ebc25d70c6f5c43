package dev.oranc.push.pipeline;

import java.time.Duration;

/**
 * How much a push does at once.
 *
 * @param parallel {@code -p}: paths whose NAR is being serialised, compressed and streamed at once
 * @param finishing NAR uploads, fully streamed, whose completion and tag are on their way: each
 *     holds at most one upload chunk, so this bounds memory, not CPU
 * @param cpuThreads paths that serialise and compress at once (CPU turns); no more than the cores.
 *     Of the {@code parallel} paths streaming, the others wait for the link or a turn
 * @param probes registry look-ups in flight before uploading (existence of narinfos and NARs)
 * @param publishes narinfo uploads in flight
 * @param maxAttempts {@code --max-retry}: tries of a NAR whose upload broke off mid-way (the
 *     registry client retries single requests itself, but cannot resend a streamed body)
 * @param retryDelay the wait before the second try, doubled for each further one
 */
public record PipelineSettings(
    int parallel,
    int cpuThreads,
    int finishing,
    int probes,
    int publishes,
    int maxAttempts,
    Duration retryDelay) {

  public PipelineSettings {
    require(parallel >= 1, "parallel", parallel);
    require(cpuThreads >= 1, "cpuThreads", cpuThreads);
    require(finishing >= 1, "finishing", finishing);
    require(probes >= 1, "probes", probes);
    require(publishes >= 1, "publishes", publishes);
    require(maxAttempts >= 1, "maxAttempts", maxAttempts);
  }

  /** Defaults for {@code -p parallel} and {@code --max-retry maxAttempts} on this machine. */
  public static PipelineSettings of(int parallel, int maxAttempts) {
    int cores = Runtime.getRuntime().availableProcessors();
    return new PipelineSettings(
        parallel,
        Math.max(1, Math.min(parallel, cores)),
        Math.max(8, 2 * parallel),
        // Look-ups are two small requests each; the registry serves a few hundred a second per
        // core, so more in flight would only queue there.
        16,
        Math.max(8, 2 * parallel),
        maxAttempts,
        Duration.ofMillis(500));
  }

  private static void require(boolean ok, String what, int value) {
    if (!ok) {
      throw new IllegalArgumentException(what + ": " + value + " (expected: at least 1)");
    }
  }
}
