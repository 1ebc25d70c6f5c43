package dev.oranc.proxy.s3;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.BlobUpload;
import dev.oranc.common.registry.auth.Credentials;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
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
 *
 * <p>Fair slots. Each upload holds a registry session for up to the expiry, so the uploads in
 * progress are bounded in total ({@value #MAX_UPLOADS}) and per client ({@code maxPerClient}),
 * where a client is counted twice: by its credentials' fingerprint and by its address, and both
 * must be under the cap. By fingerprint alone, one key from many addresses would escape; by address
 * alone, one address with many keys (or none: every anonymous client shares the fingerprint
 * "anonymous", so anonymous uploads share one allowance) would. An IPv6 address counts by its /64,
 * the block one host is usually given, so that cycling through its addresses does not help. A slot
 * is {@linkplain #reserve taken} before the registry session is opened, so a client at its cap
 * costs the registry nothing, and given back when the upload ends however it ends (completed,
 * aborted, expired, the server stopping) or when it never opened. One more is {@link
 * S3Rejected.SlowDown} with {@code Retry-After}. The counts live in two maps whose entries exist
 * only while their client holds a slot, so they hold at most {@value #MAX_UPLOADS} entries each,
 * however many clients come and go. Behind a reverse proxy every client has the proxy's address:
 * there the per-client cap bounds all of them together (raise it, or let the proxy limit clients).
 */
public final class MultipartUploads implements AutoCloseable {

  /** Bound on uploads in progress: each holds a registry session. Over it: SlowDown. */
  public static final int MAX_UPLOADS = 10_000;

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
  private final int maxPerClient;

  /** Guards {@link #reserved}, {@link #byCredentials} and {@link #byAddress}. */
  private final Object slots = new Object();

  private int reserved;
  private final HashMap<String, Integer> byCredentials = new HashMap<>();
  private final HashMap<Object, Integer> byAddress = new HashMap<>();

  /**
   * @param spoolDir the directory in which this server makes its spool directory (on first use)
   * @param spoolBytes the spool's budget in bytes
   * @param expiry how long an untouched upload is kept
   * @param maxPerClient uploads in progress at once per client credentials and per client address
   */
  public MultipartUploads(
      Path spoolDir, long spoolBytes, Duration expiry, int maxPerClient, Ticker ticker) {
    if (maxPerClient < 1 || maxPerClient > MAX_UPLOADS) {
      throw new IllegalArgumentException(
          "multipart uploads per client: "
              + maxPerClient
              + " (expected: from 1 to "
              + MAX_UPLOADS
              + ")");
    }
    this.spool = new Spool(spoolDir, spoolBytes);
    this.expiry = expiry;
    this.maxPerClient = maxPerClient;
    this.ticker = ticker;
  }

  /**
   * A client's hold on one upload in progress, from {@link #reserve} until the upload ends; {@link
   * #release()} is idempotent.
   */
  public final class Slot {
    private final String credentials;
    private final Object address;
    private final AtomicBoolean released = new AtomicBoolean();

    private Slot(String credentials, Object address) {
      this.credentials = credentials;
      this.address = address;
    }

    /** Gives the slot back (the upload ended, or was never opened). */
    public void release() {
      if (!released.compareAndSet(false, true)) {
        return;
      }
      synchronized (slots) {
        reserved--;
        byCredentials.computeIfPresent(credentials, (k, n) -> n <= 1 ? null : n - 1);
        byAddress.computeIfPresent(address, (k, n) -> n <= 1 ? null : n - 1);
      }
    }
  }

  /**
   * Takes a slot for one more upload by these credentials from this address, before its registry
   * session is opened.
   *
   * @throws S3Rejected.SlowDown when the server or this client (by credentials or by address) has
   *     as many uploads in progress as it may
   */
  public Slot reserve(Credentials credentials, SocketAddress client) {
    String fingerprint = credentials.fingerprint();
    Object address = clientKey(client);
    synchronized (slots) {
      if (reserved >= MAX_UPLOADS) {
        throw new S3Rejected.SlowDown(
            "there are "
                + reserved
                + " multipart uploads in progress on this server; try again later",
            MultipartSession.SLOW_DOWN_SECONDS);
      }
      if (byCredentials.getOrDefault(fingerprint, 0) >= maxPerClient
          || byAddress.getOrDefault(address, 0) >= maxPerClient) {
        throw S3Rejected.SlowDown.clientAtItsLimit(
            "this client has "
                + maxPerClient
                + " multipart uploads in progress, as many as one client may"
                + " (by credentials or by address); complete or abort one, or try again later",
            MultipartSession.SLOW_DOWN_SECONDS);
      }
      reserved++;
      byCredentials.merge(fingerprint, 1, Integer::sum);
      byAddress.merge(address, 1, Integer::sum);
    }
    return new Slot(fingerprint, address);
  }

  /** Who a peer address counts as: its IP address, an IPv6 one by its /64. */
  static Object clientKey(SocketAddress address) {
    if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
      InetAddress ip = inet.getAddress();
      if (ip instanceof Inet6Address) {
        return "ipv6:" + HexFormat.of().formatHex(ip.getAddress(), 0, 8) + "/64";
      }
      return ip;
    }
    return String.valueOf(address);
  }

  /** Entries in the per-client counts, by credentials and by address together (tests, metrics). */
  public int clientEntries() {
    synchronized (slots) {
      return byCredentials.size() + byAddress.size();
    }
  }

  /** Checks, at start-up, that the spool can be made where it is configured. */
  public void checkSpool() throws IOException {
    spool.checkRoot();
  }

  /**
   * Registers a new upload whose registry session {@code upload} is open, in the {@code slot}
   * reserved for it, which it gives back when it ends.
   */
  public MultipartSession open(
      Slot slot,
      RepositoryRef repository,
      String key,
      Credentials credentials,
      String contentType,
      String contentEncoding,
      BlobUpload upload) {
    byte[] bytes = new byte[24];
    random.nextBytes(bytes);
    String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    MultipartSession s =
        new MultipartSession(
            id,
            credentials,
            repository,
            key,
            contentType,
            contentEncoding,
            upload,
            spool,
            ticker,
            counters,
            ended -> {
              sessions.remove(ended.id(), ended);
              slot.release();
            });
    sessions.put(id, s);
    return s;
  }

  /**
   * The upload {@code uploadId} of {@code key} in {@code repository}, opened with these
   * credentials.
   *
   * @throws S3Rejected.NoSuchUpload when there is none
   */
  public MultipartSession find(
      String uploadId, RepositoryRef repository, String key, Credentials credentials) {
    MultipartSession s = sessions.get(uploadId);
    if (s == null || !s.belongsTo(repository, key, credentials)) {
      throw new S3Rejected.NoSuchUpload(
          "no multipart upload with this id for "
              + key
              + " and these credentials (it may have been completed,"
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
