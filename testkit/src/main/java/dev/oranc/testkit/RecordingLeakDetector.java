package dev.oranc.testkit;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakTracker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Netty's leak detector, which also hands every report to {@link LeakCheck}. Netty instantiates it
 * for each resource type (ByteBuf, ...) when the JVM runs with {@code
 * -Dio.netty.customResourceLeakDetector=dev.oranc.testkit.RecordingLeakDetector} (the parent pom's
 * {@code test.argLine}); {@link LeakCheck} installs it through {@code ResourceLeakDetectorFactory}
 * when that property is missing.
 *
 * <p>Reports still go to Netty's log as well.
 */
public class RecordingLeakDetector<T> extends ResourceLeakDetector<T> {

  /** Every instance, so {@link LeakCheck} can make each one poll its reference queue. */
  static final List<RecordingLeakDetector<?>> instances = new CopyOnWriteArrayList<>();

  /**
   * Whether any detector has tracked anything in this JVM. Until then there is nothing to leak, and
   * LeakCheck skips its garbage collections (most test classes of {@code common} never touch a
   * ByteBuf).
   */
  static volatile boolean tracked;

  private final Class<?> resourceType;

  public RecordingLeakDetector(Class<?> resourceType, int samplingInterval) {
    super(resourceType, samplingInterval);
    this.resourceType = resourceType;
    instances.add(this);
  }

  /** The constructor older Netty factories call; {@code maxActive} has been ignored for years. */
  public RecordingLeakDetector(Class<?> resourceType, int samplingInterval, long maxActive) {
    this(resourceType, samplingInterval);
  }

  Class<?> resourceType() {
    return resourceType;
  }

  @Override
  public ResourceLeakTracker<T> track(T obj) {
    tracked = true;
    return super.track(obj);
  }

  @Override
  public ResourceLeakTracker<T> trackForcibly(T obj) {
    tracked = true;
    return super.trackForcibly(obj);
  }

  /** Report even when error logging is off: the records are for LeakCheck, not only the log. */
  @Override
  protected boolean needReport() {
    return true;
  }

  @Override
  protected void reportTracedLeak(String resourceType, String records) {
    LeakCheck.record(resourceType, records);
    super.reportTracedLeak(resourceType, records);
  }

  @Override
  protected void reportUntracedLeak(String resourceType) {
    LeakCheck.record(resourceType, "");
    super.reportUntracedLeak(resourceType);
  }

  /**
   * Makes the detector look at its reference queue now. Netty only does that when it starts to
   * track a new object, so this tracks (and at once closes) a throwaway one; {@code trackForcibly}
   * ignores the sampling interval, so it works at every level but DISABLED.
   */
  @SuppressWarnings("unchecked")
  void poll() {
    Object probe = new Object();
    ResourceLeakTracker<T> tracker = super.trackForcibly((T) probe);
    if (tracker != null) {
      tracker.close((T) probe);
    }
  }
}
