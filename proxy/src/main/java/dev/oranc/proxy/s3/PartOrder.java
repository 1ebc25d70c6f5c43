package dev.oranc.proxy.s3;

import java.util.TreeMap;

/**
 * The order in which one multipart upload's parts go into its blob: which part the blob needs next,
 * which part is being written into it (streamed by a {@link DirectPart}, or fed from the spool by a
 * {@link SpoolFeeder}), and the spooled parts that wait for their turn.
 *
 * <p>Design note. The registry takes a blob's bytes in order only, so exactly one part at a time is
 * written into the upload, and only the next one. A part whose number the blob has passed, or that
 * is being written, has streamed on: another copy of it is a duplicate. This class owns the {@link
 * WaitingPart}s it holds (their files and reservations) until it hands one out to be fed or
 * discards them.
 *
 * <p>Threads: not thread-safe. Its {@link MultipartSession} holds it and calls it only while
 * holding the session's monitor.
 */
final class PartOrder {

  private int nextPart = 1;

  /** A direct part or the feeder is writing into the upload. */
  private boolean feeding;

  private int feedingPart;
  private boolean feedingDirect;
  private final TreeMap<Integer, WaitingPart> waiting = new TreeMap<>();

  /** Part {@code number} went into the blob already, or is being written into it. */
  boolean streamedOn(int number) {
    return number < nextPart || (feeding && feedingPart == number);
  }

  /** True, and the upload is the part's from now on, when it may stream straight in. */
  boolean startDirect(int number) {
    if (number != nextPart || feeding) {
      return false;
    }
    feeding = true;
    feedingPart = number;
    feedingDirect = true;
    return true;
  }

  /** A part or the feeder is writing into the upload. */
  boolean feeding() {
    return feeding;
  }

  /** The number of the direct part being received, or 0 when none is. */
  int directPart() {
    return feeding && feedingDirect ? feedingPart : 0;
  }

  /** Keeps a spooled part until its turn; the one it replaces (to discard), or null. */
  WaitingPart await(WaitingPart part) {
    return waiting.put(part.number(), part);
  }

  /**
   * When nothing is being written and the next part waits: that part, which is being fed from now
   * on (the caller starts its feeder); else null.
   */
  WaitingPart takeNext() {
    if (feeding) {
      return null;
    }
    WaitingPart next = waiting.remove(nextPart);
    if (next != null) {
      feeding = true;
      feedingPart = next.number();
      feedingDirect = false;
    }
    return next;
  }

  /** Part {@code number} is in the blob: the next one's turn. */
  void fed(int number) {
    nextPart = number + 1;
    feeding = false;
    feedingDirect = false;
  }

  /** The parts 1 to {@code lastPart} are all in the blob. */
  boolean allFed(int lastPart) {
    return nextPart > lastPart;
  }

  /** The upload ended or failed: the waiting parts' files and space are given up. */
  void discardWaiting(Spool spool) {
    waiting.values().forEach(w -> w.discard(spool));
    waiting.clear();
  }
}
