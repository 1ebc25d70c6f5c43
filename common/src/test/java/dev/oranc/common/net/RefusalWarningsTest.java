package dev.oranc.common.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RefusalWarningsTest {

  @Test
  void oneLinePerIntervalCountingTheRefusalsInBetween() {
    AtomicLong now = new AtomicLong(1_000_000_000L);
    RefusalWarnings w = new RefusalWarnings(now::get);

    assertEquals(0, w.admit(), "the first refusal is logged at once");
    for (int i = 0; i < 1000; i++) {
      assertEquals(-1, w.admit(), "a flood inside the interval is not logged");
    }
    now.addAndGet(RefusalWarnings.INTERVAL_NANOS - 1);
    assertEquals(-1, w.admit());
    now.addAndGet(1);
    assertEquals(1001, w.admit(), "the next line counts every refusal it stood for");
    now.addAndGet(RefusalWarnings.INTERVAL_NANOS);
    assertEquals(0, w.admit(), "nothing refused in between: nothing to count");
  }
}
