package dev.oranc.common.registry.throttle;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Origin;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the rate-limit window costs a request when no registry rate-limits: the origin's limiter
 * looked up, a place taken and given back (what {@code CallRunner} does per attempt). Compare with
 * a registry round trip on loopback (tens of microseconds) or across the internet (milliseconds);
 * {@code @Threads(2)} puts two event loops on one origin's lock.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class AimdLimiterBenchmark {

  private RateLimits limits;
  private Origin origin;

  /** A request that starts and does nothing. */
  private static final AimdLimiter.Waiter NOTHING =
      new AimdLimiter.Waiter() {
        @Override
        public void start(long grantedNanos) {}

        @Override
        public void wakeAfter(long delayNanos, Runnable task) {
          throw new IllegalStateException("never paused here");
        }
      };

  @Setup(Level.Trial)
  public void setUp() {
    limits = new RateLimits(RegistryClientConfig.defaults(), Ticker.systemTicker());
    origin = Origin.ofRegistry("ghcr.io", true);
  }

  @Benchmark
  public int unthrottledRequest() {
    AimdLimiter l = limits.forOrigin(origin, false);
    AimdLimiter.Admission a = l.acquire(NOTHING);
    l.onSuccess(0);
    return a.ordinal();
  }

  @Benchmark
  @Threads(2)
  public int unthrottledRequestTwoLoops() {
    return unthrottledRequest();
  }
}
