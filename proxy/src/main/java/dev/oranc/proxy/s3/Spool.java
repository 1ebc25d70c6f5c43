package dev.oranc.proxy.s3;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Disk space for the parts of multipart uploads that arrive before their turn: a directory of its
 * own under the configured one (made on first use, 0700, removed on close), a byte budget that
 * parts reserve before they are written, and the threads that do the file I/O — never an event
 * loop's.
 *
 * <p>Files are named by a counter, never by an upload id. A file is deleted as soon as its part has
 * been fed to the registry, or its upload is aborted or expires; its reservation goes back then.
 */
final class Spool implements AutoCloseable {

  private final Path root;
  private final long capacity;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong files = new AtomicLong();
  private ExecutorService io;
  private boolean closed;
  private Path dir;

  Spool(Path root, long capacity) {
    this.root = root;
    this.capacity = capacity;
  }

  /** Takes {@code n} bytes of the budget; false (and nothing taken) when they are not there. */
  boolean reserve(long n) {
    while (true) {
      long u = used.get();
      if (u + n > capacity) {
        return false;
      }
      if (used.compareAndSet(u, u + n)) {
        return true;
      }
    }
  }

  void release(long n) {
    used.addAndGet(-n);
  }

  long used() {
    return used.get();
  }

  long capacity() {
    return capacity;
  }

  /**
   * Runs {@code task} on an I/O thread (started on first use). After {@link #close()} it is not
   * run: what it would have cleaned up goes with the directory.
   */
  void execute(Runnable task) {
    ExecutorService e;
    synchronized (this) {
      if (closed) {
        return;
      }
      if (io == null) {
        ThreadFactory threads = new DefaultThreadFactory("oranc-spool", true);
        io =
            Executors.newFixedThreadPool(
                Math.max(2, Runtime.getRuntime().availableProcessors()), threads);
      }
      e = io;
    }
    try {
      e.execute(task);
    } catch (RejectedExecutionException closing) {
      // closed meanwhile
    }
  }

  /** A path for a new part file (not created yet). Call on an I/O thread. */
  synchronized Path newFile() throws IOException {
    if (dir == null) {
      Files.createDirectories(root);
      try {
        dir =
            Files.createTempDirectory(
                root,
                "spool-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (UnsupportedOperationException e) {
        dir = Files.createTempDirectory(root, "spool-");
      }
    }
    return dir.resolve("part-" + files.incrementAndGet());
  }

  /** Makes the configured directory if need be; fails when this process cannot write in it. */
  void checkRoot() throws IOException {
    Files.createDirectories(root);
    if (!Files.isDirectory(root) || !Files.isWritable(root)) {
      throw new IOException("not a directory this process can write in");
    }
  }

  /** This server's directory, or null before the first part was spooled. */
  synchronized Path directory() {
    return dir;
  }

  static void deleteQuietly(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // A leftover in our own directory; it goes with the directory at close.
      }
    }
  }

  @Override
  public void close() {
    ExecutorService threads;
    synchronized (this) {
      closed = true;
      threads = io;
    }
    if (threads != null) {
      threads.shutdown();
      try {
        threads.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    Path d;
    synchronized (this) {
      d = dir;
      dir = null;
    }
    if (d != null) {
      try {
        Files.walkFileTree(
            d,
            new SimpleFileVisitor<>() {
              @Override
              public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                  throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult postVisitDirectory(Path p, IOException e) throws IOException {
                Files.deleteIfExists(p);
                return FileVisitResult.CONTINUE;
              }
            });
      } catch (IOException e) {
        throw new UncheckedIOException("removing the multipart spool " + d, e);
      }
    }
  }
}
