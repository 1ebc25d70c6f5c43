package dev.oranc.retention.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DeleteThrottleTest {

  @Test
  void deletesAreSpacedEvenlyAndIdleTimeIsNotSavedUpAsABurst() throws Exception {
    AtomicLong clock = new AtomicLong(1_000);
    List<Duration> slept = new ArrayList<>();
    DeleteThrottle t =
        new DeleteThrottle(
            60,
            clock::get,
            d -> {
              slept.add(d);
              clock.addAndGet(d.toNanos());
            });
    t.acquire();
    t.acquire();
    t.acquire();
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(1)), slept);
    clock.addAndGet(Duration.ofMinutes(5).toNanos());
    slept.clear();
    t.acquire();
    t.acquire();
    assertEquals(List.of(Duration.ofSeconds(1)), slept);
  }

  @Test
  void zeroMeansNoLimit() throws Exception {
    List<Duration> slept = new ArrayList<>();
    DeleteThrottle t = new DeleteThrottle(0, () -> 0, slept::add);
    for (int i = 0; i < 1000; i++) {
      t.acquire();
    }
    assertEquals(List.of(), slept);
  }
}
