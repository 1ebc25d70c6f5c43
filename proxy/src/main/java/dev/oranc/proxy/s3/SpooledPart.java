package dev.oranc.proxy.s3;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A part that arrived before its turn (or while the blob was busy): its bytes are written to a file
 * in the {@link Spool}, within the spool's byte budget, and once the body has ended and the file is
 * complete it is handed to the {@link MultipartSession} as a {@link WaitingPart}.
 *
 * <p>Design note. The connection's event loop must never touch the disk, so the bytes wait in a
 * queue that one drain at a time writes out on the spool's I/O threads; the client is stopped above
 * {@value #SPOOL_HIGH} bytes waiting and resumed below {@value #SPOOL_LOW}, which bounds the memory
 * a spooled part holds. Space is reserved before bytes are queued: the declared length at once (by
 * the session), more as more arrives ({@link S3Rejected.SlowDown} when the budget is spent). Until
 * the hand-off this part owns its file and its reservation and gives both up when it is aborted or
 * its file cannot be written (the client may send the part again); from the hand-off on, the
 * session does.
 *
 * <p>Threads: {@link #write}, {@link #isWritable}, {@link #whenWritable} and {@link #finish} are
 * called by the part's connection's event loop, {@link #abort} by it or by whatever ends the
 * session; {@link #drain}, {@link #complete} and {@link #cleanup} run on the spool's I/O threads.
 * The part's state is guarded by its monitor. It takes the session's monitor only without holding
 * its own (lock order: session, then part); {@link MultipartSession#gone()} needs none.
 */
final class SpooledPart implements MultipartSession.PartSink {

  /** A part being spooled stops its client above this much waiting to be written, ... */
  private static final int SPOOL_HIGH = 1024 * 1024;

  /** ... and resumes it below this much. */
  private static final int SPOOL_LOW = 256 * 1024;

  private final MultipartSession session;
  private final Spool spool;
  private final int number;
  // Guarded by this part.
  private long reserved;
  private long received;
  private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
  private long pending;
  private boolean writing;
  private boolean finishing;
  private boolean closed;
  private IOException error;
  private Path file;
  private FileChannel channel;
  private byte[] md5;
  private CompletableFuture<String> result;
  private final List<Runnable> waiters = new ArrayList<>();

  /**
   * @param reserved what the session has reserved in the spool for it already
   */
  SpooledPart(MultipartSession session, Spool spool, int number, long reserved) {
    this.session = session;
    this.spool = spool;
    this.number = number;
    this.reserved = reserved;
  }

  /** Why part {@code number} cannot be spooled now. */
  static S3Rejected.SlowDown spoolFull(Spool spool, int number) {
    return new S3Rejected.SlowDown(
        "part "
            + number
            + " arrived before its turn and the multipart spool is full ("
            + spool.used()
            + " of "
            + spool.capacity()
            + " bytes); send it again later",
        MultipartSession.SLOW_DOWN_SECONDS);
  }

  @Override
  public void write(ByteBuf data) {
    boolean start = false;
    synchronized (this) {
      if (closed) {
        data.release();
        return;
      }
      int n = data.readableBytes();
      if (received + n > reserved) {
        long need = received + n - reserved;
        if (!spool.reserve(need)) {
          data.release();
          throw spoolFull(spool, number);
        }
        reserved += need;
      }
      received += n;
      queue.add(data);
      pending += n;
      if (!writing) {
        writing = true;
        start = true;
      }
    }
    if (start) {
      spool.execute(this::drain);
    }
  }

  @Override
  public synchronized boolean isWritable() {
    return pending < SPOOL_HIGH || closed;
  }

  @Override
  public void whenWritable(Runnable r) {
    synchronized (this) {
      if (pending >= SPOOL_HIGH && !closed) {
        waiters.add(r);
        return;
      }
    }
    r.run();
  }

  /** Writes what is queued to the file, on an I/O thread; one drain at a time. */
  private void drain() {
    while (true) {
      ByteBuf b;
      boolean complete = false;
      List<Runnable> wake = null;
      synchronized (this) {
        if (closed) {
          writing = false;
          break;
        }
        b = queue.poll();
        if (b == null) {
          writing = false;
          complete = finishing;
          wake = takeWaiters();
        }
      }
      if (b == null) {
        run(wake);
        if (complete) {
          complete();
        }
        return;
      }
      int n = b.readableBytes();
      try {
        if (error == null) {
          if (channel == null) {
            file = spool.newFile();
            channel =
                FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
          }
          for (ByteBuffer nio : b.nioBuffers()) {
            while (nio.hasRemaining()) {
              channel.write(nio);
            }
          }
        }
      } catch (IOException e) {
        synchronized (this) {
          error = e;
        }
      } finally {
        b.release();
      }
      synchronized (this) {
        pending -= n;
        if (pending < SPOOL_LOW) {
          wake = takeWaiters();
        }
      }
      run(wake);
    }
    cleanup();
  }

  private List<Runnable> takeWaiters() {
    if (waiters.isEmpty()) {
      return null;
    }
    List<Runnable> w = new ArrayList<>(waiters);
    waiters.clear();
    return w;
  }

  private void run(List<Runnable> rs) {
    if (rs != null) {
      rs.forEach(Runnable::run);
    }
  }

  @Override
  public CompletableFuture<String> finish(byte[] md5) {
    boolean now;
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(session.gone());
      }
      this.md5 = md5;
      finishing = true;
      result = new CompletableFuture<>();
      now = !writing;
    }
    if (now) {
      spool.execute(this::complete);
    }
    return result;
  }

  /** Everything is written: the file is closed and handed to the session. On an I/O thread. */
  private void complete() {
    IOException e;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true; // the session owns the file from here
      try {
        if (channel != null) {
          channel.close();
        }
      } catch (IOException c) {
        error = error == null ? c : error;
      }
      channel = null;
      e = error;
    }
    if (e != null) {
      Spool.deleteQuietly(file);
      spool.release(reserved);
      session.dropped(this);
      result.completeExceptionally(
          new S3Rejected.SlowDown(
              "part "
                  + number
                  + " could not be written to the multipart spool ("
                  + MultipartSession.oneLine(e)
                  + ")",
              MultipartSession.SLOW_DOWN_SECONDS));
      return;
    }
    WaitingPart s = new WaitingPart(number, file, received, md5, reserved);
    try {
      result.complete(session.spooled(this, s));
    } catch (RuntimeException r) {
      result.completeExceptionally(r);
    }
  }

  @Override
  public void abort(Throwable cause) {
    List<ByteBuf> drop;
    List<Runnable> wake;
    boolean cleanNow;
    CompletableFuture<String> r;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      drop = new ArrayList<>(queue);
      queue.clear();
      pending = 0;
      wake = takeWaiters();
      cleanNow = !writing;
      r = result;
    }
    drop.forEach(ByteBuf::release);
    if (cleanNow) {
      spool.execute(this::cleanup);
    }
    session.dropped(this);
    run(wake);
    if (r != null) {
      r.completeExceptionally(cause);
    }
  }

  /** After an abort: the file and its space are given up. On an I/O thread. */
  private void cleanup() {
    synchronized (this) {
      try {
        if (channel != null) {
          channel.close();
        }
      } catch (IOException e) {
        // deleted below
      }
      channel = null;
    }
    Spool.deleteQuietly(file);
    spool.release(reserved);
  }
}
