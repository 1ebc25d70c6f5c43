package dev.oranc.common.registry;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.DigestedManifest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.oci.TagList;
import dev.oranc.common.registry.auth.Authenticator;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.throttle.RateLimits;
import dev.oranc.common.registry.throttle.Throttling;
import dev.oranc.common.registry.transport.Connections;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The OCI registry client both {@code oranc server} and {@code oranc push} use: manifests and
 * blobs, read and written, over pooled keep-alive connections, with token auth and retries.
 *
 * <p>Every operation is asynchronous and runs on an event loop: the one given (the server passes
 * the loop of the client connection it is serving, so the answer needs no thread hop) or one of the
 * client's group. A future's callbacks may run on that loop: never block in them.
 *
 * <p>Answers that mean "not there" are values ({@code Optional.empty()}); everything else that is
 * not a success fails the future with a {@link RegistryException} naming the operation and the
 * registry. Bodies are never collected in memory unless they are small and bounded: manifests
 * ({@code maxManifestBytes}), token and error answers; blobs stream ({@link BlobDownload}, {@link
 * BlobUpload}).
 *
 * <p>This class is the facade: it builds the connection layer ({@link Connections}, {@link
 * CallRunner}, {@link Authenticator}) and hands each operation to the class that owns it: {@link
 * ManifestCalls}, {@link BlobReads}, {@link BlobWrites} (with {@link BlobUpload} for streams) and
 * {@link TagCalls} (see {@link RepositoryCalls}).
 */
public final class RegistryClient implements AutoCloseable {

  private final RegistryClientConfig config;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final Connections connections;
  private final CallRunner runner;
  private final Authenticator authenticator;
  private final ManifestCalls manifests;
  private final BlobReads blobReads;
  private final BlobWrites blobWrites;
  private final TagCalls tags;

  /** A client with its own event loops, one per core. */
  public RegistryClient(RegistryClientConfig config) {
    this(
        config,
        Transport.newGroup(Runtime.getRuntime().availableProcessors(), "oranc-registry"),
        true,
        Ticker.systemTicker());
  }

  /** A client on a shared group (the server's), which the caller shuts down. */
  public RegistryClient(RegistryClientConfig config, EventLoopGroup group) {
    this(config, group, false, Ticker.systemTicker());
  }

  RegistryClient(
      RegistryClientConfig config, EventLoopGroup group, boolean ownsGroup, Ticker ticker) {
    this.config = config;
    this.group = group;
    this.ownsGroup = ownsGroup;
    this.connections = new Connections(config);
    this.runner = new CallRunner(connections, config, new RateLimits(config, ticker));
    this.authenticator = new Authenticator(runner, ticker);
    runner.authenticator(authenticator);
    this.manifests = new ManifestCalls(config, group, runner);
    this.blobReads = new BlobReads(config, group, runner);
    this.blobWrites = new BlobWrites(config, group, runner, blobReads, ticker);
    this.tags = new TagCalls(config, group, runner);
  }

  public RegistryClientConfig config() {
    return config;
  }

  public EventLoopGroup group() {
    return group;
  }

  /** Token requests made so far (a metric; tests count them). */
  public long tokenFetches() {
    return authenticator.tokenFetches();
  }

  /**
   * Rate-limit answers so far and how long registries kept us waiting (a metric; {@code oranc push}
   * prints it).
   */
  public Throttling throttling() {
    return runner.throttling();
  }

  /** Connections open to a registry (a metric). */
  public int openConnections(String registry) {
    return connections.openConnections(Origin.ofRegistry(registry, config.tlsFor(registry)));
  }

  // --- manifests ------------------------------------------------------------------------------

  /**
   * The image manifest under {@code reference} (a tag or a digest); empty when the registry says
   * there is none (404).
   */
  public CompletableFuture<Optional<Manifest>> getManifest(
      RepositoryRef repo, String reference, Credentials credentials, EventLoop loop) {
    return manifests.getManifest(repo, reference, credentials, loop);
  }

  /**
   * As {@link #getManifest}, with the manifest's digest (SHA-256 of the bytes the registry sent),
   * which is what {@link #deleteManifest} takes.
   */
  public CompletableFuture<Optional<DigestedManifest>> getDigestedManifest(
      RepositoryRef repo, String reference, Credentials credentials, EventLoop loop) {
    return manifests.getDigestedManifest(repo, reference, credentials, loop);
  }

  /**
   * Deletes the manifest {@code digest} ({@code DELETE /v2/<name>/manifests/<digest>}), and with it
   * every tag that points to it. True when the registry deleted it, false when it was gone already
   * (404): a retried or resumed delete is done, not an error. A registry that does not allow
   * deletes (405, {@code UNSUPPORTED}) fails with one line naming what to enable.
   */
  public CompletableFuture<Boolean> deleteManifest(
      RepositoryRef repo, Digest digest, Credentials credentials, EventLoop loop) {
    return manifests.deleteManifest(repo, digest, credentials, loop);
  }

  /** What a 405 to a manifest DELETE means, and what to do about it. */
  public static final String DELETES_DISABLED =
      "the registry does not allow deletes (405 UNSUPPORTED): enable them (the CNCF registry:"
          + " storage.delete.enabled: true, or REGISTRY_STORAGE_DELETE_ENABLED=true; Harbor, Zot"
          + " and GitLab allow them to a user with delete rights; ghcr.io deletes only through"
          + " GitHub's packages API: oranc gc --backend github)";

  /**
   * How many times a manifest PUT is sent again when the registry says a blob it names, stored a
   * moment ago, is unknown ({@link RegistryErrors#blobJustStoredLooksUnknown}).
   */
  static final int MANIFEST_BLOB_UNKNOWN_RETRIES = ManifestCalls.MANIFEST_BLOB_UNKNOWN_RETRIES;

  /**
   * Stores {@code manifest} under {@code tag}; the digest the registry gives it.
   *
   * <p>A 400 saying a blob the manifest names is unknown (or its link unreadable) is sent again,
   * {@link #MANIFEST_BLOB_UNKNOWN_RETRIES} times after the configured backoff: callers PUT a
   * manifest only after its blobs were stored, so the answer is the registry's storage catching up
   * — an eventually consistent S3 backend, or the CNCF registry's filesystem driver, which rewrites
   * a blob's repository link in place when the same blob is uploaded again at that moment, and a
   * concurrent manifest PUT then reads it empty ({@code DIGEST_INVALID} + {@code
   * MANIFEST_BLOB_UNKNOWN}). A manifest PUT by tag is idempotent.
   */
  public CompletableFuture<Digest> putManifest(
      RepositoryRef repo, String tag, Manifest manifest, Credentials credentials, EventLoop loop) {
    return manifests.putManifest(repo, tag, manifest, credentials, loop);
  }

  // --- blobs ----------------------------------------------------------------------------------

  /** The blob's size when the registry has it; empty when it does not (404). */
  public CompletableFuture<OptionalLong> headBlob(
      RepositoryRef repo, Digest digest, Credentials credentials, EventLoop loop) {
    return blobReads.headBlob(repo, digest, credentials, loop);
  }

  /**
   * Starts downloading a blob; the returned download has the registry's answer and streams the body
   * once started. {@code range} (an HTTP {@code Range} value, or null) is passed on. Fails with
   * {@link RegistryException.NotFound} when the registry has no such blob.
   */
  public CompletableFuture<BlobDownload> getBlob(
      RepositoryRef repo, Digest digest, String range, Credentials credentials, EventLoop loop) {
    return blobReads.getBlob(repo, digest, range, credentials, loop);
  }

  /**
   * One {@code GET} of a blob that does not follow a redirect: the registry's bytes ({@link
   * BlobLocation.Here}, a download begun that the caller starts or cancels) or where it sent the
   * request ({@link BlobLocation.Elsewhere}). The request carries {@code credentials} (the token
   * dance included), so the redirect is the one these credentials get. A redirect's own body is
   * small and is read (bounded) so that its connection goes back to the pool; nothing is left open.
   * Fails with {@link RegistryException.NotFound} when the registry has no such blob, and with
   * {@link RegistryException.Protocol} for a redirect without a usable {@code Location}.
   */
  public CompletableFuture<BlobLocation> locateBlob(
      RepositoryRef repo, Digest digest, Credentials credentials, EventLoop loop) {
    return blobReads.locateBlob(repo, digest, credentials, loop);
  }

  /**
   * A small blob, read whole into memory and checked against its digest. Fails with a {@link
   * RegistryException.Protocol} when it is larger than {@code maxBytes}.
   */
  public CompletableFuture<byte[]> getBlobBytes(
      RepositoryRef repo, Digest digest, int maxBytes, Credentials credentials, EventLoop loop) {
    return blobReads.getBlobBytes(repo, digest, maxBytes, credentials, loop);
  }

  /**
   * Stores a blob held in memory: a {@code HEAD} first, and no upload at all when the registry
   * already has it; otherwise a session and one {@code PUT}. Without {@link
   * RegistryClientConfig#checkBeforeUpload()}, the session and the {@code PUT} only.
   *
   * @param digest the content's digest, or null to compute it
   */
  public CompletableFuture<Descriptor> putBlob(
      RepositoryRef repo,
      byte[] content,
      Digest digest,
      String mediaType,
      Credentials credentials,
      EventLoop loop) {
    return blobWrites.putBlob(repo, content, digest, mediaType, credentials, loop);
  }

  /** The sessions opened ahead (tests); null when off. */
  UploadSessionReserve sessionReserve() {
    return blobWrites.sessionReserve();
  }

  /** Whether the registry of {@code repo} completed a single-POST upload; empty when not tried. */
  public Optional<Boolean> singlePostSupported(RepositoryRef repo) {
    return blobWrites.singlePostSupported(repo);
  }

  // --- tags -----------------------------------------------------------------------------------

  /**
   * The repository's tags ({@code GET /v2/<name>/tags/list?n=}), following the registry's {@code
   * Link: <…>; rel="next"} pages for at most {@code maxPages} pages; empty and complete when the
   * repository does not exist (404). {@link TagList#complete()} is false when pages were left.
   */
  public CompletableFuture<TagList> listTags(
      RepositoryRef repo, int pageSize, int maxPages, Credentials credentials, EventLoop loop) {
    return tags.listTags(repo, pageSize, maxPages, credentials, loop);
  }

  /**
   * Asks the registry to link a blob another repository of it has ({@code POST ?mount=&from=}):
   * true when it did, false when the caller must upload after all.
   */
  public CompletableFuture<Boolean> mountBlob(
      RepositoryRef repo,
      Digest digest,
      String fromRepository,
      Credentials credentials,
      EventLoop loop) {
    return blobWrites.mountBlob(repo, digest, fromRepository, credentials, loop);
  }

  /**
   * A streaming upload of a blob of {@code size} bytes, or of unknown size when {@code size} is -1.
   * Nothing is sent until the first bytes are written.
   */
  public BlobUpload upload(
      RepositoryRef repo, long size, String mediaType, Credentials credentials, EventLoop loop) {
    return new BlobUpload(this, repo, size, mediaType, credentials, manifests.loopOrNext(loop));
  }

  @Override
  public void close() {
    connections.closeIdle();
    if (ownsGroup) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  // --- for BlobUpload -------------------------------------------------------------------------

  Connections connections() {
    return connections;
  }

  Authenticator authenticator() {
    return authenticator;
  }

  Origin registryOrigin(RepositoryRef repo) {
    return manifests.registryOrigin(repo);
  }

  /** Sends a call built by BlobUpload (its PATCHes) the way every call goes. */
  CompletableFuture<Response> run(Call call) {
    return runner.run(call);
  }

  CompletableFuture<URI> openUploadSession(
      RepositoryRef repo, Credentials credentials, EventLoop loop) {
    return blobWrites.openUploadSession(repo, credentials, loop);
  }

  CompletableFuture<Digest> closeUploadSession(
      RepositoryRef repo, URI location, Digest digest, Credentials credentials, EventLoop loop) {
    return blobWrites.closeUploadSession(repo, location, digest, credentials, loop);
  }

  /** Best effort: tells the registry to drop an upload session we give up on. */
  void cancelUploadSession(
      RepositoryRef repo, URI location, Credentials credentials, EventLoop loop) {
    blobWrites.cancelUploadSession(repo, location, credentials, loop);
  }

  // --- scopes ---------------------------------------------------------------------------------

  static String pull(RepositoryRef repo) {
    return "repository:" + repo.repository() + ":pull";
  }

  /** Distribution checks the {@code delete} action for a manifest DELETE. */
  static String delete(RepositoryRef repo) {
    return "repository:" + repo.repository() + ":delete";
  }

  static String push(RepositoryRef repo) {
    return "repository:" + repo.repository() + ":pull,push";
  }
}
