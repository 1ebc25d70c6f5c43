package dev.oranc.testkit;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.internal.PlatformDependent;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The peaks of heap in use, Netty's direct memory and (optionally) one more gauge, such as the
 * bytes on a spool, sampled every 50 ms on a daemon thread from {@link #start} to {@link #close}.
 * For the memory tests: a peak is what a bound is asserted on; the sampling period only decides how
 * short a peak it can miss.
 */
public final class MemorySampler implements AutoCloseable {

  private static final long PERIOD_MILLIS = 50;

  private final AtomicLong peakHeap = new AtomicLong();
  private final AtomicLong peakDirect = new AtomicLong();
  private final AtomicLong peakGauge = new AtomicLong();
  private final LongSupplier gauge;
  private final List<MemoryPoolMXBean> heapPools =
      ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == MemoryType.HEAP)
          .toList();
  private final Thread thread;
  private volatile boolean stop;

  private MemorySampler(LongSupplier gauge) {
    this.gauge = gauge;
    this.thread = new Thread(this::run, "memory-sampler");
    thread.setDaemon(true);
  }

  /** Samples heap and direct memory. */
  public static MemorySampler start() {
    return start(() -> 0);
  }

  /** Samples heap, direct memory and {@code gauge}. */
  public static MemorySampler start(LongSupplier gauge) {
    MemorySampler s = new MemorySampler(gauge);
    s.thread.start();
    return s;
  }

  private void run() {
    while (!stop) {
      sample();
      try {
        Thread.sleep(PERIOD_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void sample() {
    long heap = 0;
    for (MemoryPoolMXBean p : heapPools) {
      heap += p.getUsage().getUsed();
    }
    peakHeap.accumulateAndGet(heap, Math::max);
    long direct = PlatformDependent.usedDirectMemory();
    if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p) {
      direct = Math.max(direct, p.metric().usedDirectMemory());
    }
    peakDirect.accumulateAndGet(direct, Math::max);
    peakGauge.accumulateAndGet(gauge.getAsLong(), Math::max);
  }

  /** The most heap in use seen, in bytes (all heap pools added up). */
  public long peakHeap() {
    return peakHeap.get();
  }

  /** The most direct memory in use seen, in bytes (Netty's count or its allocator's). */
  public long peakDirect() {
    return peakDirect.get();
  }

  /** The highest value of the gauge seen. */
  public long peakGauge() {
    return peakGauge.get();
  }

  /** Stops sampling and waits for the sampler thread to end. */
  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.interrupt();
    thread.join();
  }
}
