package dev.oranc.testkit;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a Netty leak report into a test failure: after every test class it makes Netty look for
 * leaked buffers now, and fails the class with the leak records if any was reported (then or
 * earlier, by any test of the class).
 *
 * <p>Design note. Netty finds a leak when the garbage collector has cleared an object that was
 * never released, and only reports it later, when the same detector starts to track a new object
 * (it then drains its reference queue). A report is also only a log line. So:
 *
 * <ul>
 *   <li>Reports are captured by {@link RecordingLeakDetector}, a {@code ResourceLeakDetector}
 *       subclass. Netty creates one detector per resource type, once, in static initialisers
 *       ({@code AbstractByteBuf.leakDetector}), so ours must be in place before the first ByteBuf
 *       class is initialised. The reliable way is the system property {@code
 *       io.netty.customResourceLeakDetector}, which the parent pom's {@code test.argLine} sets for
 *       every module. Without it (an IDE run), this class installs a {@code
 *       ResourceLeakDetectorFactory} when first loaded; if {@code AbstractByteBuf} had been
 *       initialised before that, it falls back to attaching a listener to that detector, which
 *       Netty 4.2 offers ({@code setLeakListener}).
 *   <li>Detection is forced the way Netty's own leak tests provoke it: a few rounds of {@code
 *       System.gc()}, a short sleep so the reference handler thread can enqueue what the GC
 *       cleared, and then a throwaway object tracked by every detector, which makes each one drain
 *       its queue and report.
 * </ul>
 *
 * <p>Registered for every test class in every module with the testkit on its test classpath by
 * service loader ({@code META-INF/services/org.junit.jupiter.api.extension.Extension}, with {@code
 * junit.jupiter.extensions.autodetection.enabled=true} in surefire and failsafe). A leak that only
 * becomes collectable later (the buffer was still referenced from a static or a thread at the end
 * of its class) fails a later class; its records name the allocation site. Netty reports each
 * distinct record only once per detector, so the same leak from the same line is not reported twice
 * in one JVM.
 */
public final class LeakCheck implements AfterAllCallback {

  private static final Logger log = LoggerFactory.getLogger(LeakCheck.class);

  static final String CUSTOM_DETECTOR_PROPERTY = "io.netty.customResourceLeakDetector";

  private static final int ROUNDS = 4;
  private static final long SETTLE_MILLIS = 25;
  private static final int MAX_LEAKS_IN_MESSAGE = 5;

  /** How reports reach us in this JVM. */
  public enum Mode {
    /** Netty built every detector as a {@link RecordingLeakDetector}. */
    CUSTOM_DETECTOR,
    /** The ByteBuf detector is Netty's own; a listener records its reports. */
    LISTENER,
    /** Neither worked: LeakCheck sees nothing and says so in the log. */
    NONE
  }

  /** One leak report: the resource type and Netty's access records (empty below ADVANCED). */
  public record Leak(String resourceType, String records) {
    public Leak {
      Objects.requireNonNull(resourceType, "resourceType");
      Objects.requireNonNull(records, "records");
    }

    @Override
    public String toString() {
      return "LEAK: "
          + resourceType
          + ".release() was not called before it was garbage-collected."
          + (records.isEmpty()
              ? " (no records: run with -Dio.netty.leakDetection.level=paranoid)"
              : records);
    }
  }

  private static final List<Leak> leaks = new CopyOnWriteArrayList<>();

  /** Detectors that are not ours but report to our listener; polled like ours. */
  private static final List<ResourceLeakDetector<?>> listenedTo = new CopyOnWriteArrayList<>();

  private static final Mode mode = install();

  public LeakCheck() {}

  @Override
  public void afterAll(ExtensionContext context) {
    verifyNoLeaks(context.getDisplayName());
  }

  /** How this JVM's leak reports reach LeakCheck. */
  public static Mode mode() {
    return mode;
  }

  /**
   * Forces Netty to look for leaks now, and returns (and forgets) every leak reported since the
   * last call. For tests of leak checking itself; other tests rely on the automatic check.
   */
  public static List<Leak> collectLeaks() {
    forceDetection();
    List<Leak> found = new ArrayList<>(leaks);
    leaks.removeAll(found);
    return found;
  }

  /** Forces detection and fails, listing the leaks, if any was reported since the last check. */
  public static void verifyNoLeaks(String where) {
    List<Leak> found = collectLeaks();
    if (found.isEmpty()) {
      return;
    }
    StringBuilder message =
        new StringBuilder()
            .append(found.size())
            .append(found.size() == 1 ? " leak" : " leaks")
            .append(" reported by Netty during or before ")
            .append(where)
            .append(" (a ByteBuf or other reference-counted object was never released):");
    for (int i = 0; i < found.size() && i < MAX_LEAKS_IN_MESSAGE; i++) {
      message.append("\n\n").append(found.get(i));
    }
    if (found.size() > MAX_LEAKS_IN_MESSAGE) {
      message.append("\n\n... and ").append(found.size() - MAX_LEAKS_IN_MESSAGE).append(" more");
    }
    throw new AssertionError(message.toString());
  }

  /** How Netty's leak reports begin, in its own log line and in {@link Leak#toString()}. */
  static final String REPORT_MARK = "LEAK: ";

  private static final int MAX_PROCESS_REPORT_CHARS = 8_000;

  /**
   * Fails when {@code output}, what a process a test started wrote (an oranc server or push run
   * through the launcher, which the parent pom's {@code ORANC_JAVA_OPTS} puts at PARANOID too),
   * holds a Netty leak report. A process's reports are only log lines: this is how they fail a
   * test.
   *
   * @param process what the process is, for the message ("oranc-server (pid 123)")
   */
  public static void verifyNoLeaksIn(String process, String output) {
    int first = output.indexOf(REPORT_MARK);
    if (first < 0) {
      return;
    }
    int lineStart = output.lastIndexOf('\n', first) + 1;
    String reports = output.substring(lineStart);
    if (reports.length() > MAX_PROCESS_REPORT_CHARS) {
      reports = reports.substring(0, MAX_PROCESS_REPORT_CHARS) + "\n...";
    }
    throw new AssertionError(
        process
            + " reported a leak (a ByteBuf or other reference-counted object was never released):\n"
            + reports);
  }

  static void record(String resourceType, String records) {
    leaks.add(new Leak(resourceType, records));
  }

  private static void forceDetection() {
    if (ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.DISABLED
        || (mode == Mode.CUSTOM_DETECTOR && !RecordingLeakDetector.tracked)) {
      return;
    }
    for (int round = 0; round < ROUNDS; round++) {
      System.gc();
      ExternalProcess.sleep(SETTLE_MILLIS);
      for (RecordingLeakDetector<?> d : RecordingLeakDetector.instances) {
        d.poll();
      }
      for (ResourceLeakDetector<?> d : listenedTo) {
        poll(d);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static <T> void poll(ResourceLeakDetector<T> detector) {
    Object probe = new Object();
    var tracker = detector.trackForcibly((T) probe);
    if (tracker != null) {
      tracker.close((T) probe);
    }
  }

  private static Mode install() {
    if (System.getProperty(CUSTOM_DETECTOR_PROPERTY) == null) {
      ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    }
    ResourceLeakDetector<?> byteBufDetector;
    try {
      Class<?> abstractByteBuf =
          Class.forName("io.netty.buffer.AbstractByteBuf", true, LeakCheck.class.getClassLoader());
      Field field = abstractByteBuf.getDeclaredField("leakDetector");
      field.setAccessible(true);
      byteBufDetector = (ResourceLeakDetector<?>) field.get(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn(
          "LeakCheck cannot see Netty's ByteBuf leak detector ({}); leaks go unchecked",
          e.toString());
      return Mode.NONE;
    }
    if (byteBufDetector instanceof RecordingLeakDetector) {
      return Mode.CUSTOM_DETECTOR;
    }
    byteBufDetector.setLeakListener(LeakCheck::record);
    listenedTo.add(byteBufDetector);
    log.info(
        "ByteBuf classes were initialised before LeakCheck; it listens to Netty's detector instead"
            + " (set -D{}={} to check every resource type)",
        CUSTOM_DETECTOR_PROPERTY,
        RecordingLeakDetector.class.getName());
    return Mode.LISTENER;
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    @Deprecated
    @SuppressWarnings("deprecation")
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return new RecordingLeakDetector<>(resource, samplingInterval);
    }

    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval) {
      return new RecordingLeakDetector<>(resource, samplingInterval);
    }
  }
}
