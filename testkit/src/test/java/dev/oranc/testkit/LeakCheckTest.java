package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.Extension;

/**
 * LeakCheck on purpose-made leaks. Each test consumes what it provokes (collectLeaks or
 * verifyNoLeaks clear the records), so the automatic check after this class passes.
 */
class LeakCheckTest {

  /** Allocates and drops a buffer; a method of its own so no frame keeps it reachable. */
  private static void leakPooledBuffer() {
    ByteBuf buf = ByteBufAllocator.DEFAULT.buffer(64);
    buf.writeBytes("leaked on purpose".getBytes(StandardCharsets.UTF_8));
  }

  /** Direct: Netty does not track unpooled heap buffers, the GC frees them anyway. */
  private static void leakUnpooledBuffer() {
    Unpooled.directBuffer(16).writeInt(42);
  }

  @Test
  void customDetectorIsInstalledByTheArgLine() {
    assertEquals(LeakCheck.Mode.CUSTOM_DETECTOR, LeakCheck.mode());
  }

  @Test
  void isRegisteredForAutodetection() {
    List<String> extensions =
        ServiceLoader.load(Extension.class).stream().map(p -> p.type().getName()).toList();
    assertTrue(extensions.contains(LeakCheck.class.getName()), extensions.toString());
    assertTrue(extensions.contains(TestLogs.class.getName()), extensions.toString());
  }

  @Test
  void reportsALeakedBufferWithWhereItWasAllocated() {
    LeakCheck.collectLeaks(); // start clean
    leakPooledBuffer();
    List<LeakCheck.Leak> leaks = LeakCheck.collectLeaks();
    assertEquals(1, leaks.size(), leaks.toString());
    assertEquals("ByteBuf", leaks.get(0).resourceType());
    assertTrue(leaks.get(0).records().contains("leakPooledBuffer"), leaks.get(0).records());
    assertEquals(List.of(), LeakCheck.collectLeaks(), "collected leaks are forgotten");
  }

  @Test
  void verifyFailsWithTheLeakAndThenPasses() {
    LeakCheck.collectLeaks();
    leakUnpooledBuffer();
    AssertionError failure =
        assertThrows(AssertionError.class, () -> LeakCheck.verifyNoLeaks("LeakCheckTest"));
    assertTrue(failure.getMessage().startsWith("1 leak reported by Netty"), failure.getMessage());
    assertTrue(failure.getMessage().contains("leakUnpooledBuffer"), failure.getMessage());
    LeakCheck.verifyNoLeaks("LeakCheckTest");
  }

  @Test
  void releasedBuffersPass() {
    LeakCheck.collectLeaks();
    ByteBuf pooled = ByteBufAllocator.DEFAULT.directBuffer(128).writeLong(1);
    ByteBuf unpooled = Unpooled.copiedBuffer("fine", StandardCharsets.UTF_8);
    ByteBuf slice = pooled.retainedSlice();
    slice.release();
    assertTrue(pooled.release());
    assertTrue(unpooled.release());
    assertEquals(List.of(), LeakCheck.collectLeaks());
    LeakCheck.verifyNoLeaks("LeakCheckTest");
  }
}
