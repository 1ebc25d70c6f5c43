package dev.oranc.proxy.s3;

import dev.oranc.common.registry.BlobUpload;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * Reads one {@link WaitingPart} back from the spool into the registry's {@link BlobUpload}, chunk
 * by chunk, as fast as the upload takes them, then deletes its file and tells the {@link
 * MultipartSession} the part is in.
 *
 * <p>Design note. The feeder owns the part's file and reservation from the moment the session
 * starts it (its turn has come) and gives both up when it ends: fed, stopped because the upload
 * ended or failed, or a read error, which fails the upload (some of the part's bytes may be in the
 * blob already). It holds at most one chunk ({@value #FEED_CHUNK} bytes) at a time besides what the
 * upload queues, so memory stays bounded however large the part.
 *
 * <p>Threads: one step at a time, on the spool's I/O threads: each step schedules the next, or asks
 * the upload to schedule it once writable, so the fields need no lock. The session starts at most
 * one feeder (or direct part) at a time.
 */
final class SpoolFeeder {

  /** Reading a part back from the spool: how much per read. */
  private static final int FEED_CHUNK = 256 * 1024;

  private final MultipartSession session;
  private final BlobUpload upload;
  private final Spool spool;
  private final WaitingPart part;
  private FileChannel channel;
  private long position;

  SpoolFeeder(MultipartSession session, BlobUpload upload, Spool spool, WaitingPart part) {
    this.session = session;
    this.upload = upload;
    this.spool = spool;
    this.part = part;
  }

  /** Starts feeding, on an I/O thread. */
  void start() {
    spool.execute(this::step);
  }

  private void step() {
    if (session.stopped()) {
      close();
      part.discard(spool);
      return;
    }
    try {
      if (part.file() == null) {
        done();
        return;
      }
      if (channel == null) {
        channel = FileChannel.open(part.file(), StandardOpenOption.READ);
      }
      if (!upload.isWritable()) {
        upload.whenWritable(() -> spool.execute(this::step));
        return;
      }
      // Unpooled: buffers taken from the pooled allocator on these (non event loop) threads and
      // freed on the registry's loop after the PATCH made it hold 90-170 MiB of chunks for a
      // 0.5-1 GiB upload, and ran slower (S3MultipartMemoryIT); one allocation per 256 KiB read
      // costs nothing next to the read and the send.
      ByteBuf buf = Unpooled.directBuffer(FEED_CHUNK);
      int n;
      try {
        n = buf.writeBytes(channel, position, FEED_CHUNK);
      } catch (IOException e) {
        buf.release();
        throw e;
      }
      if (n <= 0) {
        buf.release();
        if (position != part.size()) {
          throw new IOException(
              "the spool file has " + position + " bytes, the part had " + part.size());
        }
        done();
        return;
      }
      position += n;
      upload.write(buf);
      // One chunk at a time, so that parts being spooled get the I/O threads too.
      spool.execute(this::step);
    } catch (IOException e) {
      close();
      part.discard(spool);
      session.failed(
          new IllegalStateException(
              "reading part "
                  + part.number()
                  + " back from the multipart spool: "
                  + MultipartSession.oneLine(e),
              e));
    }
  }

  private void done() {
    close();
    part.discard(spool);
    session.fed(part.number(), part.size());
  }

  private void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        // read-only; the file is deleted anyway
      }
      channel = null;
    }
  }
}
