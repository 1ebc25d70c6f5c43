package dev.oranc.proxy.s3;

import java.nio.file.Path;

/**
 * A spooled part whose body has ended and whose file is complete, waiting in its {@link
 * MultipartSession} for its turn to be fed into the blob.
 *
 * <p>Design note. Whoever holds one owns its file and its reservation in the {@link Spool}: first
 * the {@link SpooledPart} that wrote it, then the session (in its list of parts that wait), then
 * the {@link SpoolFeeder} that reads it back. Each gives both up with {@link #discard} exactly
 * once, when the part has been fed, or is not wanted (a duplicate, a replaced one, an upload that
 * ended or failed).
 *
 * @param file the spool file; null for an empty part
 * @param reserved the bytes this part holds in the spool's budget
 */
record WaitingPart(int number, Path file, long size, byte[] md5, long reserved) {

  /** Deletes the file (on an I/O thread) and gives its space back. */
  void discard(Spool spool) {
    if (file != null) {
      spool.execute(() -> Spool.deleteQuietly(file));
    }
    spool.release(reserved);
  }
}
