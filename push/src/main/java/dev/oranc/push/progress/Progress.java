package dev.oranc.push.progress;

import dev.oranc.push.PathOutcome;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters a push updates as it goes, from any thread, and a {@link ProgressReporter} reads. Byte
 * counts are updated per buffer (hundreds of KiB), never per byte.
 */
public final class Progress {

  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger pushed = new AtomicInteger();
  private final AtomicInteger skipped = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final AtomicLong narToRead = new AtomicLong();
  private final AtomicLong narRead = new AtomicLong();
  private final AtomicLong fileWritten = new AtomicLong();

  /** Paths in the push, skipped ones included. */
  public void total(int paths) {
    total.set(paths);
  }

  /** A path's NAR of {@code bytes} will be compressed and uploaded. */
  public void expectNar(long bytes) {
    narToRead.addAndGet(bytes);
  }

  public void narRead(long bytes) {
    narRead.addAndGet(bytes);
  }

  public void fileWritten(long bytes) {
    fileWritten.addAndGet(bytes);
  }

  public void finished(PathOutcome.Status status) {
    if (status.pushed()) {
      pushed.incrementAndGet();
    } else if (status.failed()) {
      failed.incrementAndGet();
    } else {
      skipped.incrementAndGet();
    }
  }

  /** A consistent-enough copy for one progress line. */
  public Snapshot snapshot() {
    return new Snapshot(
        total.get(),
        pushed.get(),
        skipped.get(),
        failed.get(),
        narToRead.get(),
        narRead.get(),
        fileWritten.get());
  }

  /** The counters at one moment. */
  public record Snapshot(
      int total,
      int pushed,
      int skipped,
      int failed,
      long narToRead,
      long narRead,
      long fileWritten) {

    public int finished() {
      return pushed + skipped + failed;
    }
  }
}
