package dev.oranc.push.progress;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows a push's {@link Progress}: on a terminal one line rewritten in place a few times a second;
 * otherwise (CI logs, files) a plain log line every {@code logIntervalSeconds}, so a log is not
 * flooded with carriage returns.
 */
public final class ProgressReporter implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ProgressReporter.class);
  private static final long TERMINAL_REFRESH_MILLIS = 250;

  private final Progress progress;
  private final PrintStream terminal;
  private final long startNanos = System.nanoTime();
  private final ScheduledExecutorService timer;
  private boolean shown;

  /**
   * @param terminal where to draw the live line, or null to log periodically instead
   */
  private ProgressReporter(Progress progress, PrintStream terminal, long logIntervalSeconds) {
    this.progress = progress;
    this.terminal = terminal;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "oranc-push-progress");
              t.setDaemon(true);
              return t;
            });
    if (terminal != null) {
      timer.scheduleAtFixedRate(
          this::draw, TERMINAL_REFRESH_MILLIS, TERMINAL_REFRESH_MILLIS, TimeUnit.MILLISECONDS);
    } else {
      timer.scheduleAtFixedRate(
          () -> log.info("{}", line(progress.snapshot(), elapsedSeconds())),
          logIntervalSeconds,
          logIntervalSeconds,
          TimeUnit.SECONDS);
    }
  }

  /** A live line on {@code err} when it is a terminal, periodic log lines otherwise. */
  public static ProgressReporter start(Progress progress, PrintStream err, boolean terminal) {
    return new ProgressReporter(progress, terminal ? err : null, 10);
  }

  /**
   * Whether standard error is a terminal. Java only knows whether stdin and stdout both are ({@code
   * System.console()}), and a push reads its paths from a pipe; Linux says where fd 2 leads.
   */
  public static boolean stderrIsTerminal() {
    if ("dumb".equals(System.getenv("TERM"))) {
      return false;
    }
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (Exception e) {
      return false;
    }
  }

  private double elapsedSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private synchronized void draw() {
    if (terminal == null) {
      return;
    }
    terminal.print("\r" + line(progress.snapshot(), elapsedSeconds()) + "\033[K");
    terminal.flush();
    shown = true;
  }

  /** One progress line. */
  static String line(Progress.Snapshot s, double seconds) {
    StringBuilder sb = new StringBuilder(120);
    sb.append('[')
        .append(s.finished())
        .append('/')
        .append(s.total())
        .append("] ")
        .append(s.pushed())
        .append(" pushed, ")
        .append(s.skipped())
        .append(" skipped, ")
        .append(s.failed())
        .append(" failed");
    if (s.narRead() > 0) {
      double rate = seconds > 0 ? s.narRead() / seconds : 0;
      double upload = seconds > 0 ? s.fileWritten() / seconds : 0;
      sb.append(" | NAR ")
          .append(bytes(s.narRead()))
          .append(" -> zstd ")
          .append(bytes(s.fileWritten()))
          .append(" | ")
          .append(bytes((long) rate))
          .append("/s of NAR, ")
          .append(bytes((long) upload))
          .append("/s up");
      long left = s.narToRead() - s.narRead();
      if (rate > 0 && left > 0) {
        sb.append(" | ETA ").append(duration(left / rate));
      }
    }
    return sb.toString();
  }

  /** {@code 12.3 MB}: decimal units, as the baselines and most tools report throughput. */
  public static String bytes(long n) {
    if (n < 1000) {
      return n + " B";
    }
    String[] units = {"kB", "MB", "GB", "TB"};
    double v = n;
    int u = -1;
    while (v >= 1000 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600
        ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }

  /** Stops; the live line is cleared so the summary starts on a clean line. */
  @Override
  public synchronized void close() {
    timer.shutdownNow();
    if (terminal != null && shown) {
      terminal.print("\r\033[K");
      terminal.flush();
    }
  }
}
