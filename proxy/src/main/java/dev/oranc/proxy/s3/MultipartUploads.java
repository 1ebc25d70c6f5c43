package dev.oranc.proxy.s3;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.BlobUpload;
import dev.oranc.common.registry.Credentials;
import dev.oranc.common.registry.RepositoryRef;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The S3 multipart uploads in progress on this server, by upload id, and the spool their early
 * parts wait in ({@link MultipartSession} says how a session works).
 *
 * <p>An upload id is 24 random bytes (base64url): unguessable, and only valid with the credentials
 * (by fingerprint), repository and key that created it; any other use is {@link
 * S3Rejected.NoSuchUpload}, so an id reveals nothing to someone who is not its owner. An upload
 * untouched for the expiry is aborted by {@link #expire()} (the server calls it periodically),
 * which cancels its registry session and deletes its spooled parts. Closing the server aborts every
 * upload and removes the spool directory.
 */
public final class MultipartUploads implements AutoCloseable {

  /** Bound on uploads in progress: each holds a registry session. Over it: SlowDown. */
  static final int MAX_UPLOADS = 10_000;

  /** How many parts went which way, and bytes fed to registries (metrics). */
  static final class Counters {
    final LongAdder direct = new LongAdder();
    final LongAdder spooled = new LongAdder();
    final LongAdder fedBytes = new LongAdder();
  }

  private final Spool spool;
  private final Duration expiry;
  private final Ticker ticker;
  private final Counters counters = new Counters();
  private final ConcurrentHashMap<String, MultipartSession> sessions = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();

  /**
   * @param spoolDir the directory in which this server makes its spool directory (on first use)
   * @param spoolBytes the spool's budget in bytes
   * @param expiry how long an untouched upload is kept
   */
  public MultipartUploads(Path spoolDir, long spoolBytes, Duration expiry, Ticker ticker) {
    this.spool = new Spool(spoolDir, spoolBytes);
    this.expiry = expiry;
    this.ticker = ticker;
  }

  /** Checks, at start-up, that the spool can be made where it is configured. */
  public void checkSpool() throws java.io.IOException {
    spool.checkRoot();
  }

  /** Registers a new upload whose registry session {@code upload} is open. */
  public MultipartSession open(
      RepositoryRef repository, String key, Credentials credentials, String contentType, String contentEncoding,
      BlobUpload upload) {
    if (sessions.size() >= MAX_UPLOADS) {
      throw new S3Rejected.SlowDown(
          "there are " + sessions.size() + " multipart uploads in progress on this server; try again later",
          MultipartSession.SLOW_DOWN_SECONDS);
    }
    byte[] bytes = new byte[24];
    random.nextBytes(bytes);
    String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    MultipartSession s = new MultipartSession(id, credentials, repository, key, contentType, contentEncoding,
        upload, spool, ticker, counters, ended -> sessions.remove(ended.id(), ended));
    sessions.put(id, s);
    return s;
  }

  /**
   * The upload {@code uploadId} of {@code key} in {@code repository}, opened with these credentials.
   *
   * @throws S3Rejected.NoSuchUpload when there is none
   */
  public MultipartSession find(String uploadId, RepositoryRef repository, String key, Credentials credentials) {
    MultipartSession s = sessions.get(uploadId);
    if (s == null || !s.belongsTo(repository, key, credentials)) {
      throw new S3Rejected.NoSuchUpload(
          "no multipart upload with this id for " + key + " and these credentials (it may have been completed,"
              + " aborted or expired)");
    }
    return s;
  }

  /** Aborts the uploads nobody has touched for the expiry; how many. */
  public int expire() {
    long now = ticker.read();
    int n = 0;
    for (MultipartSession s : new ArrayList<>(sessions.values())) {
      if (s.expireIfIdle(now, expiry.toNanos())) {
        n++;
      }
    }
    return n;
  }

  /** How often {@link #expire()} should run: a quarter of the expiry, at most a minute. */
  public Duration sweepInterval() {
    Duration quarter = expiry.dividedBy(4);
    Duration min = Duration.ofMillis(50);
    Duration max = Duration.ofMinutes(1);
    return quarter.compareTo(min) < 0 ? min : quarter.compareTo(max) > 0 ? max : quarter;
  }

  /** Uploads in progress. */
  public int uploads() {
    return sessions.size();
  }

  /** Bytes reserved in the spool. */
  public long spoolBytes() {
    return spool.used();
  }

  /** This server's spool directory; null until a part has been spooled. */
  public Path spoolDirectory() {
    return spool.directory();
  }

  public long directParts() {
    return counters.direct.sum();
  }

  public long spooledParts() {
    return counters.spooled.sum();
  }

  /** Part bytes handed to registry uploads. */
  public long fedBytes() {
    return counters.fedBytes.sum();
  }

  @Override
  public void close() {
    for (MultipartSession s : new ArrayList<>(sessions.values())) {
      s.abort("was cut short: the server stopped");
    }
    spool.close();
  }
}
