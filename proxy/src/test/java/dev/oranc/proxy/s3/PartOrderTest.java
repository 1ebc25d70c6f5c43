package dev.oranc.proxy.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PartOrder} on its own: one part at a time goes into the blob, only the next one; a part
 * the blob has passed or is taking is a duplicate; waiting parts are handed out in turn and their
 * spool reservations given back when discarded.
 */
class PartOrderTest {

  @TempDir Path dir;

  private static WaitingPart waiting(int n, long reserved) {
    return new WaitingPart(n, null, 0, new byte[16], reserved);
  }

  @Test
  void onlyTheNextPartStreamsDirectlyAndOnlyWhileNothingElseIsWritten() {
    PartOrder order = new PartOrder();
    assertFalse(order.startDirect(2), "part 2 is early");
    assertTrue(order.startDirect(1));
    assertTrue(order.feeding());
    assertEquals(1, order.directPart());
    assertTrue(order.streamedOn(1), "a second copy of the part being streamed is a duplicate");
    assertFalse(order.startDirect(1));
    order.fed(1);
    assertFalse(order.feeding());
    assertEquals(0, order.directPart());
    assertTrue(order.streamedOn(1));
    assertFalse(order.streamedOn(2));
    assertTrue(order.allFed(1));
    assertFalse(order.allFed(2));
  }

  @Test
  void waitingPartsAreHandedOutInTurnAndOneAtATime() {
    PartOrder order = new PartOrder();
    WaitingPart two = waiting(2, 0);
    assertNull(order.await(two));
    assertNull(order.takeNext(), "part 1 has not arrived");
    assertTrue(order.startDirect(1));
    assertNull(order.takeNext(), "part 1 is being streamed");
    order.fed(1);
    assertSame(two, order.takeNext());
    assertTrue(order.feeding());
    assertEquals(0, order.directPart(), "a fed part is not a direct one");
    assertTrue(order.streamedOn(2));
    order.fed(2);
    assertTrue(order.allFed(2));
  }

  @Test
  void aPartSpooledAgainReplacesTheWaitingOneAndDiscardingGivesTheSpoolBack() {
    Spool spool = new Spool(dir, 100);
    try (spool) {
      assertTrue(spool.reserve(30));
      PartOrder order = new PartOrder();
      WaitingPart first = waiting(3, 10);
      assertNull(order.await(first));
      assertSame(first, order.await(waiting(3, 20)));
      first.discard(spool);
      assertEquals(20, spool.used());
      order.discardWaiting(spool);
      assertEquals(0, spool.used());
      order.fed(2);
      assertNull(order.takeNext(), "discarded parts are gone");
    }
  }
}
