package dev.oranc.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Bytes processed, reported by JMH next to the primary score. In a throughput benchmark with
 * {@code @OutputTimeUnit(SECONDS)} the secondary result {@code bytes} is bytes per second; {@code
 * bench/report} divides by 10^6 for MB/s. Benchmarks that compare against a reference count the
 * same bytes in both (the input's content bytes), so the ratio of the two rates is the ratio of
 * their times.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class ByteCounter {

  public long bytes;

  @Setup(Level.Iteration)
  public void reset() {
    bytes = 0;
  }
}
