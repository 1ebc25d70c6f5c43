package dev.oranc.common.registry.config;

import static dev.oranc.common.error.ConfigCheck.require;
import static dev.oranc.common.error.ConfigCheck.requireNonNegative;
import static dev.oranc.common.error.ConfigCheck.requirePositive;

import dev.oranc.common.net.AddressPolicy;
import dev.oranc.common.net.HostPattern;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.TrustManagerFactory;

/**
 * How the registry client talks to registries. Defaults suit both a server in front of hundreds of
 * clients and a push from CI; every bound is checked here, once, with a message naming it.
 *
 * @param tls HTTPS with the JDK's trust store and host name verification; false is {@code --no-ssl}
 * @param maxAttempts {@code --max-retry}: attempts of a failing request in all, at least 1
 * @param connectTimeout to establish a connection (TCP and TLS)
 * @param readTimeout the longest the registry may keep us waiting for the next byte, or take to
 *     accept the next bytes of a body we send, before the request fails
 * @param idleTimeout how long an unused pooled connection is kept open
 * @param maxConnectionsPerLoop connections to one host from one event loop; requests beyond it wait
 * @param maxPendingAcquires requests that may wait for a connection to one host on one loop
 * @param maxManifestBytes the largest manifest we read (held in memory, so bounded)
 * @param uploadChunkBytes the largest PATCH body of a chunked upload (ghcr.io refuses over 4 MiB);
 *     0 sends a body in one PATCH however large, streamed as it comes (the CNCF registry and Harbor
 *     take that; it saves a round trip per chunk and, for bodies of unknown size, the chunk
 *     gathered in memory)
 * @param monolithicUploadBytes bodies up to this size are sent in one PUT after a HEAD that skips
 *     the upload when the registry has the blob; larger ones stream in chunks
 * @param maxRetryAfter the time budget for rate limits ({@code --max-retry} given as a duration):
 *     how long one request may keep waiting on {@code 429}s (and {@code 503}s with {@code
 *     Retry-After}), counted from its first, before it fails as rate-limited; a {@code Retry-After}
 *     that would take it past the budget fails it at once, and the server passes that {@code
 *     Retry-After} on. 0 fails at the first rate limit. See {@link RetryBudget}
 * @param checkBeforeUpload send a {@code HEAD} before uploading a blob held in memory, and skip the
 *     upload when the registry has it. Right when the blob may well be there (a client's PUT of a
 *     file it may have sent before); a wasted request per blob when the caller knows it is new
 *     ({@code oranc push} looked the keys up first, and each config blob names its layer)
 * @param uploadSessionReserve upload sessions opened ahead per registry, repository and
 *     credentials, so that a blob held in memory goes up in one {@code PUT} (see {@code
 *     UploadSessionReserve}); 0 (the default) opens each when it is needed. The server's is 4
 * @param addressPolicy which addresses connections may go to: all for {@code oranc push} (the
 *     default), public ones and the explicit {@code --allow-registry} hosts for {@code oranc
 *     server}
 * @param insecureRegistries {@code --insecure-registry}: registries reached over plain HTTP even
 *     though {@code tls} is true; see {@link #tlsFor}
 * @param trustManagerFactory what a registry's certificate is checked against; null (the default)
 *     is the JDK's trust store. Set by tests only (a registry stand-in with a test certificate), no
 *     flag: an operator with a private CA adds it to the JDK's trust store
 */
public record RegistryClientConfig(
    boolean tls,
    int maxAttempts,
    Duration connectTimeout,
    Duration readTimeout,
    Duration idleTimeout,
    int maxConnectionsPerLoop,
    int maxPendingAcquires,
    int maxManifestBytes,
    int uploadChunkBytes,
    int monolithicUploadBytes,
    Duration maxRetryAfter,
    Duration initialBackoff,
    Duration maxBackoff,
    boolean checkBeforeUpload,
    int uploadSessionReserve,
    AddressPolicy addressPolicy,
    List<HostPattern> insecureRegistries,
    TrustManagerFactory trustManagerFactory) {

  public static final int DEFAULT_MAX_MANIFEST_BYTES = 4 << 20;
  public static final int DEFAULT_UPLOAD_CHUNK_BYTES = 4 << 20;

  public RegistryClientConfig {
    require(maxAttempts >= 1, "max attempts (--max-retry)", maxAttempts, "at least 1");
    requirePositive(connectTimeout, "connect timeout");
    requirePositive(readTimeout, "read timeout");
    requirePositive(idleTimeout, "idle timeout");
    require(
        maxConnectionsPerLoop >= 1,
        "connections per event loop",
        maxConnectionsPerLoop,
        "at least 1");
    require(
        maxPendingAcquires >= 0, "pending connection requests", maxPendingAcquires, "0 or more");
    require(maxManifestBytes >= 1024, "manifest size bound", maxManifestBytes, "at least 1024");
    require(
        uploadChunkBytes == 0 || uploadChunkBytes >= 64 * 1024,
        "upload chunk size",
        uploadChunkBytes,
        "0 for unlimited, or at least 64 KiB");
    require(
        monolithicUploadBytes >= 0
            && (uploadChunkBytes == 0 || monolithicUploadBytes <= uploadChunkBytes),
        "monolithic upload bound",
        monolithicUploadBytes,
        "between 0 and the upload chunk size");
    require(
        uploadSessionReserve >= 0 && uploadSessionReserve <= 8,
        "upload sessions opened ahead",
        uploadSessionReserve,
        "between 0 and 8");
    requirePositive(initialBackoff, "initial backoff");
    requirePositive(maxBackoff, "max backoff");
    requireNonNegative(maxRetryAfter, "max Retry-After wait");
    Objects.requireNonNull(addressPolicy, "addressPolicy");
    insecureRegistries = List.copyOf(insecureRegistries);
  }

  /**
   * Whether a registry ({@code host} or {@code host:port}, as a request names it) is reached over
   * TLS: never with {@code --no-ssl}; otherwise unless an {@code --insecure-registry} pattern
   * matches it (a registry named without a port is matched on port 80, where plain HTTP would reach
   * it).
   */
  public boolean tlsFor(String registry) {
    if (!tls) {
      return false;
    }
    for (HostPattern p : insecureRegistries) {
      if (p.matchesAuthority(registry, 80)) {
        return false;
      }
    }
    return true;
  }

  public static RegistryClientConfig defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.tls = tls;
    b.maxAttempts = maxAttempts;
    b.connectTimeout = connectTimeout;
    b.readTimeout = readTimeout;
    b.idleTimeout = idleTimeout;
    b.maxConnectionsPerLoop = maxConnectionsPerLoop;
    b.maxPendingAcquires = maxPendingAcquires;
    b.maxManifestBytes = maxManifestBytes;
    b.uploadChunkBytes = uploadChunkBytes;
    b.monolithicUploadBytes = monolithicUploadBytes;
    b.maxRetryAfter = maxRetryAfter;
    b.initialBackoff = initialBackoff;
    b.maxBackoff = maxBackoff;
    b.checkBeforeUpload = checkBeforeUpload;
    b.uploadSessionReserve = uploadSessionReserve;
    b.addressPolicy = addressPolicy;
    b.insecureRegistries = insecureRegistries;
    b.trustManagerFactory = trustManagerFactory;
    return b;
  }

  /** Starts from the defaults; {@link #build()} validates. */
  public static final class Builder {
    private boolean tls = true;
    private int maxAttempts = 3;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration readTimeout = Duration.ofSeconds(30);
    private Duration idleTimeout = Duration.ofSeconds(55);
    private int maxConnectionsPerLoop = 64;
    private int maxPendingAcquires = 10_000;
    private int maxManifestBytes = DEFAULT_MAX_MANIFEST_BYTES;
    private int uploadChunkBytes = DEFAULT_UPLOAD_CHUNK_BYTES;
    private int monolithicUploadBytes = 256 * 1024;

    /** The server's: a Nix client waits this long at most for one request held by rate limits. */
    private Duration maxRetryAfter = Duration.ofSeconds(30);

    private Duration initialBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(5);
    private boolean checkBeforeUpload = true;
    private int uploadSessionReserve = 0;
    private AddressPolicy addressPolicy = AddressPolicy.allowAll();
    private List<HostPattern> insecureRegistries = List.of();
    private TrustManagerFactory trustManagerFactory;

    private Builder() {}

    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    public Builder maxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
      return this;
    }

    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = connectTimeout;
      return this;
    }

    public Builder readTimeout(Duration readTimeout) {
      this.readTimeout = readTimeout;
      return this;
    }

    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = idleTimeout;
      return this;
    }

    public Builder maxConnectionsPerLoop(int maxConnectionsPerLoop) {
      this.maxConnectionsPerLoop = maxConnectionsPerLoop;
      return this;
    }

    public Builder maxPendingAcquires(int maxPendingAcquires) {
      this.maxPendingAcquires = maxPendingAcquires;
      return this;
    }

    public Builder maxManifestBytes(int maxManifestBytes) {
      this.maxManifestBytes = maxManifestBytes;
      return this;
    }

    public Builder uploadChunkBytes(int uploadChunkBytes) {
      this.uploadChunkBytes = uploadChunkBytes;
      return this;
    }

    public Builder monolithicUploadBytes(int monolithicUploadBytes) {
      this.monolithicUploadBytes = monolithicUploadBytes;
      return this;
    }

    public Builder maxRetryAfter(Duration maxRetryAfter) {
      this.maxRetryAfter = maxRetryAfter;
      return this;
    }

    /** {@code --max-retry}: attempts and the rate-limit time budget. */
    public Builder retryBudget(RetryBudget budget) {
      this.maxAttempts = budget.attempts();
      this.maxRetryAfter = budget.rateLimited();
      return this;
    }

    public Builder backoff(Duration initialBackoff, Duration maxBackoff) {
      this.initialBackoff = initialBackoff;
      this.maxBackoff = maxBackoff;
      return this;
    }

    public Builder checkBeforeUpload(boolean checkBeforeUpload) {
      this.checkBeforeUpload = checkBeforeUpload;
      return this;
    }

    public Builder uploadSessionReserve(int uploadSessionReserve) {
      this.uploadSessionReserve = uploadSessionReserve;
      return this;
    }

    public Builder addressPolicy(AddressPolicy addressPolicy) {
      this.addressPolicy = addressPolicy;
      return this;
    }

    public Builder insecureRegistries(List<HostPattern> insecureRegistries) {
      this.insecureRegistries = insecureRegistries;
      return this;
    }

    /** Tests only: trust these roots instead of the JDK's trust store. */
    public Builder trustManagerFactory(TrustManagerFactory trustManagerFactory) {
      this.trustManagerFactory = trustManagerFactory;
      return this;
    }

    public RegistryClientConfig build() {
      return new RegistryClientConfig(
          tls,
          maxAttempts,
          connectTimeout,
          readTimeout,
          idleTimeout,
          maxConnectionsPerLoop,
          maxPendingAcquires,
          maxManifestBytes,
          uploadChunkBytes,
          monolithicUploadBytes,
          maxRetryAfter,
          initialBackoff,
          maxBackoff,
          checkBeforeUpload,
          uploadSessionReserve,
          addressPolicy,
          insecureRegistries,
          trustManagerFactory);
    }
  }
}
