package dev.oranc.push.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PathOutcome;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.PushReport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The live line and the summary say what a user needs, in decimal units. */
class ProgressReporterTest {

  @Test
  void theLiveLineCountsPathsBytesRateAndEta() {
    Progress p = new Progress();
    p.total(200);
    for (int i = 0; i < 30; i++) {
      p.finished(Status.PUSHED);
    }
    p.finished(Status.IN_REGISTRY);
    p.finished(Status.FAILED);
    p.expectNar(1_000_000_000);
    p.narRead(250_000_000);
    p.fileWritten(80_000_000);
    assertEquals(
        "[32/200] 30 pushed, 1 skipped, 1 failed | NAR 250.0 MB -> zstd 80.0 MB | 125.0 MB/s of"
            + " NAR, 40.0 MB/s up | ETA 0:06",
        ProgressReporter.line(p.snapshot(), 2.0));
    assertEquals(
        "[0/3] 0 pushed, 0 skipped, 0 failed",
        ProgressReporter.line(new Progress.Snapshot(3, 0, 0, 0, 0, 0, 0), 1));
  }

  @Test
  void unitsAndDurations() {
    assertEquals("999 B", ProgressReporter.bytes(999));
    assertEquals("1.0 kB", ProgressReporter.bytes(1000));
    assertEquals("2.1 GB", ProgressReporter.bytes(2_147_483_648L));
    assertEquals("1:01:01", ProgressReporter.duration(3661));
    assertEquals("0:59", ProgressReporter.duration(59.4));
  }

  static PathOutcome outcome(char c, Status status, String detail, long nar, long file) {
    return new PathOutcome(
        StorePath.parse("/nix/store/" + String.valueOf(c).repeat(32) + "-x"),
        status,
        detail,
        nar,
        file);
  }

  @Test
  void theSummaryTotalsAndListsEveryFailure() {
    PushReport report =
        new PushReport(
            List.of(
                outcome('a', Status.PUSHED, "", 3_000_000, 1_000_000),
                outcome('b', Status.NARINFO_ONLY, "", 0, 0),
                outcome('c', Status.IN_REGISTRY, "", 0, 0),
                outcome('d', Status.SKIPPED, "signed by x", 0, 0),
                outcome('f', Status.FAILED, "PUT manifest: 500", 0, 0),
                outcome('g', Status.DEPENDENCY_FAILED, "it refers to f, which failed", 0, 0)),
            Duration.ofSeconds(2),
            false,
            3);
    assertEquals(
        List.of(
            "pushed 2 paths (1 of them with a NAR already in the registry), 1 already in the"
                + " registry, 1 skipped by signature, 2 failed; NAR 3.0 MB, zstd 1.0 MB in 2.0 s"
                + " (1.5 MB/s of NAR)",
            "failed: /nix/store/" + "f".repeat(32) + "-x: PUT manifest: 500",
            "not pushed: /nix/store/" + "g".repeat(32) + "-x: it refers to f, which failed"),
        report.summary());
    PushReport nothing =
        new PushReport(
            List.of(outcome('c', Status.IN_REGISTRY, "", 0, 0)), Duration.ofMillis(500), false, 0);
    assertEquals(
        List.of(
            "nothing to upload: pushed 0 paths, 1 already in the registry, 0 skipped by signature,"
                + " 0 failed; NAR 0 B, zstd 0 B in 0.5 s"),
        nothing.summary());
  }
}
