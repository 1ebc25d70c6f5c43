package dev.oranc.push.upload;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.oci.Digest;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.nar.NarSource;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.function.LongConsumer;

/**
 * One pass over a store path: NAR serialisation → SHA-256 and size (the NarHash and NarSize) → zstd
 * → the sink (a registry upload, which hashes what it sends for the FileHash). Nothing is held but
 * the buffers on the way.
 *
 * <p>The NAR's hash and size are compared with the database's before the caller finishes the
 * upload: a mismatch means the store is corrupt or changed under us, and nothing that describes it
 * may be published.
 *
 * <p>zstd's own worker threads are used for NARs of at least {@code largeNarBytes}, so that one
 * huge path at the end of a push does not leave the other cores idle; smaller NARs are compressed
 * by the calling thread alone (paths in parallel use the cores then).
 */
public final class NarCompressor {

  private final NarSource source;
  private final int level;
  private final int workers;
  private final long largeNarBytes;

  /**
   * @param workers zstd worker threads for large NARs (0 or 1: none)
   */
  public NarCompressor(NarSource source, int level, int workers, long largeNarBytes) {
    this.source = source;
    this.level = level;
    this.workers = workers;
    this.largeNarBytes = largeNarBytes;
  }

  /**
   * Writes the compressed NAR of {@code info}'s path to {@code sink} (not closed) and checks it.
   *
   * @param narProgress told the number of NAR bytes as they are read
   * @param fileProgress told the number of compressed bytes as they are written
   * @throws IntegrityException when the NAR differs from what the database says
   */
  public CompressedNar compress(
      PathInfo info, OutputStream sink, LongConsumer narProgress, LongConsumer fileProgress)
      throws IOException {
    CountingStream file = new CountingStream(sink, fileProgress);
    ZstdOutputStreamNoFinalizer zstd =
        new ZstdOutputStreamNoFinalizer(file, RecyclingBufferPool.INSTANCE, level);
    NarHashingStream nar;
    boolean ended = false;
    try {
      if (workers > 1 && info.narSize() >= largeNarBytes) {
        zstd.setWorkers(workers);
      }
      nar = new NarHashingStream(zstd, narProgress);
      source.writeNar(info.path(), nar);
      zstd.closeWithoutClosingParentStream(); // ends the frame; the sink stays open
      ended = true;
    } finally {
      if (!ended) {
        // Frees zstd's native context. It also writes a frame end into the sink, which the
        // caller aborts anyway; a failure doing so must not hide the first one.
        try {
          zstd.closeWithoutClosingParentStream();
        } catch (IOException | RuntimeException ignored) {
          // the exception on its way out says what went wrong
        }
      }
    }
    NixHash narHash = NixHash.sha256(nar.sha256.digest());
    if (nar.count != info.narSize() || !narHash.equals(info.narHash())) {
      throw new IntegrityException(
          info.path()
              + ": its NAR is "
              + nar.count
              + " bytes with hash "
              + narHash.toNix32()
              + ", but the Nix database says "
              + info.narSize()
              + " bytes with hash "
              + info.narHash().toNix32()
              + "; the store is corrupt or changed while it was read (nix-store --verify"
              + " --check-contents shows which)");
    }
    return new CompressedNar(narHash, nar.count, file.count);
  }

  /** Counts and hashes the NAR on its way to zstd; never ends the zstd frame. */
  private static final class NarHashingStream extends CountingStream {
    final MessageDigest sha256 = Digest.newSha256();

    NarHashingStream(OutputStream out, LongConsumer progress) {
      super(out, progress);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      sha256.update(b, off, len);
      super.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
      out.flush(); // into zstd, as FilterOutputStream does (only the compressed side holds back)
    }
  }

  /** Counts the compressed bytes; never closes the sink. */
  private static class CountingStream extends FilterOutputStream {
    final LongConsumer progress;
    long count;

    CountingStream(OutputStream out, LongConsumer progress) {
      super(out);
      this.progress = progress;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
      progress.accept(len);
    }

    @Override
    public void flush() throws IOException {
      // zstd flushes at the end of its frame; passing it on would only cost a PATCH boundary.
    }

    @Override
    public void close() {}
  }
}
