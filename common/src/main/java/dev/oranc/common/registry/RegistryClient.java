package dev.oranc.common.registry;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.DigestedManifest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.oci.TagList;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 */
public final class RegistryClient implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RegistryClient.class);

  private static final int MAX_ERROR_BODY = 64 * 1024;

  private final RegistryClientConfig config;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final Connections connections;
  private final CallRunner runner;
  private final Authenticator authenticator;

  /** Upload sessions opened ahead; null when {@code uploadSessionReserve} is 0. */
  private final UploadSessionReserve sessions;

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
    this.sessions =
        config.uploadSessionReserve() == 0
            ? null
            : new UploadSessionReserve(
                config.uploadSessionReserve(), UploadSessionReserve.MAX_AGE, ticker);
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
    return readManifest(repo, reference, credentials, loop, (manifest, bytes) -> manifest);
  }

  /**
   * As {@link #getManifest}, with the manifest's digest (SHA-256 of the bytes the registry sent),
   * which is what {@link #deleteManifest} takes.
   */
  public CompletableFuture<Optional<DigestedManifest>> getDigestedManifest(
      RepositoryRef repo, String reference, Credentials credentials, EventLoop loop) {
    return readManifest(
        repo,
        reference,
        credentials,
        loop,
        (manifest, bytes) -> new DigestedManifest(manifest, Digest.sha256(bytes)));
  }

  /** One manifest GET; {@code result} makes the answer of the parsed manifest and its bytes. */
  private <T> CompletableFuture<Optional<T>> readManifest(
      RepositoryRef repo,
      String reference,
      Credentials credentials,
      EventLoop loop,
      BiFunction<Manifest, byte[], T> result) {
    String operation = "GET manifest " + repo + ":" + reference;
    HttpHeaders headers = new DefaultHttpHeaders().set(HttpHeaderNames.ACCEPT, Manifest.ACCEPT);
    return run(
            operation,
            HttpMethod.GET,
            repo,
            "/manifests/" + reference,
            headers,
            null,
            credentials,
            pull(repo),
            config.maxManifestBytes(),
            loop)
        .thenApply(
            r -> {
              if (r.status() == 404) {
                return Optional.empty();
              }
              if (r.status() != 200) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              Manifest manifest;
              try {
                manifest =
                    Manifest.parse(
                        r.body(),
                        "manifest " + repo + ":" + reference,
                        r.headers().get(HttpHeaderNames.CONTENT_TYPE));
              } catch (FormatException e) {
                throw new RegistryException.Protocol(
                    operation,
                    "the registry's manifest is not an image manifest we can read",
                    e.getMessage(),
                    e);
              }
              return Optional.of(result.apply(manifest, r.body()));
            });
  }

  /**
   * Deletes the manifest {@code digest} ({@code DELETE /v2/<name>/manifests/<digest>}), and with it
   * every tag that points to it. True when the registry deleted it, false when it was gone already
   * (404): a retried or resumed delete is done, not an error. A registry that does not allow
   * deletes (405, {@code UNSUPPORTED}) fails with one line naming what to enable.
   */
  public CompletableFuture<Boolean> deleteManifest(
      RepositoryRef repo, Digest digest, Credentials credentials, EventLoop loop) {
    String operation = "DELETE manifest " + repo + "@" + digest;
    return run(
            operation,
            HttpMethod.DELETE,
            repo,
            "/manifests/" + digest,
            new DefaultHttpHeaders(),
            null,
            credentials,
            delete(repo),
            MAX_ERROR_BODY,
            loop)
        .thenApply(
            r -> {
              if (r.status() == 202 || r.status() == 200 || r.status() == 204) {
                return true;
              }
              if (r.status() == 404) {
                return false;
              }
              if (r.status() == 405) {
                throw new RegistryException.Forbidden(operation, DELETES_DISABLED);
              }
              throw RegistryErrors.fromResponse(operation, r, credentials);
            });
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
  static final int MANIFEST_BLOB_UNKNOWN_RETRIES = 3;

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
    return putManifest(repo, tag, manifest, credentials, loopOrNext(loop), 0);
  }

  private CompletableFuture<Digest> putManifest(
      RepositoryRef repo,
      String tag,
      Manifest manifest,
      Credentials credentials,
      EventLoop loop,
      int retried) {
    String operation = "PUT manifest " + repo + ":" + tag;
    byte[] json = manifest.toJson();
    Digest computed = Digest.sha256(json);
    HttpHeaders headers =
        new DefaultHttpHeaders().set(HttpHeaderNames.CONTENT_TYPE, manifest.mediaType());
    return run(
            operation,
            HttpMethod.PUT,
            repo,
            "/manifests/" + tag,
            headers,
            json,
            credentials,
            push(repo),
            MAX_ERROR_BODY,
            loop)
        .thenCompose(
            r -> {
              if (r.status() == 400
                  && retried < MANIFEST_BLOB_UNKNOWN_RETRIES
                  && RegistryErrors.blobJustStoredLooksUnknown(r.body())) {
                long delay =
                    Math.min(
                        config.maxBackoff().toMillis(),
                        config.initialBackoff().toMillis() << retried);
                log.warn(
                    "{}: {}; its blobs were stored a moment ago, sending it again in {} ms"
                        + " (retry {} of {})",
                    operation,
                    RegistryErrors.registryMessage(r.body()),
                    delay,
                    retried + 1,
                    MANIFEST_BLOB_UNKNOWN_RETRIES);
                CompletableFuture<Digest> again = new CompletableFuture<>();
                loop.schedule(
                    () ->
                        putManifest(repo, tag, manifest, credentials, loop, retried + 1)
                            .whenComplete(
                                (d, e) -> {
                                  if (e != null) {
                                    again.completeExceptionally(e);
                                  } else {
                                    again.complete(d);
                                  }
                                }),
                    delay,
                    TimeUnit.MILLISECONDS);
                return again;
              }
              return CompletableFuture.completedFuture(
                  storedManifest(operation, r, computed, credentials));
            });
  }

  private static Digest storedManifest(
      String operation, Response r, Digest computed, Credentials credentials) {
    if (r.status() != 201 && r.status() != 200) {
      throw RegistryErrors.fromResponse(operation, r, credentials);
    }
    String stored = r.headers().get("Docker-Content-Digest");
    if (stored != null && !stored.equals(computed.toString())) {
      throw new IntegrityException(
          operation + ": the registry stored another digest than the " + computed + " we sent",
          "it says " + stored);
    }
    return computed;
  }

  // --- blobs ----------------------------------------------------------------------------------

  /** The blob's size when the registry has it; empty when it does not (404). */
  public CompletableFuture<OptionalLong> headBlob(
      RepositoryRef repo, Digest digest, Credentials credentials, EventLoop loop) {
    return headBlob(repo, digest, credentials, pull(repo), loop);
  }

  private CompletableFuture<OptionalLong> headBlob(
      RepositoryRef repo, Digest digest, Credentials credentials, String scope, EventLoop loop) {
    String operation = "HEAD blob " + repo + "@" + digest;
    // Redirects are followed as for GET: a registry on S3, GCS or Azure storage answers HEAD of a
    // blob it has with 307 to the storage (CallRunner sends no Authorization to another origin).
    Call call =
        new Call(
            operation,
            HttpMethod.HEAD,
            registryOrigin(repo),
            v2(repo, "/blobs/" + digest),
            new DefaultHttpHeaders(),
            null,
            credentials,
            scope,
            false,
            MAX_ERROR_BODY,
            true,
            loopOrNext(loop));
    return runner
        .run(call)
        .thenApply(
            r -> {
              if (r.status() == 404) {
                return OptionalLong.empty();
              }
              if (r.status() != 200) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              String length = r.headers().get(HttpHeaderNames.CONTENT_LENGTH);
              try {
                return OptionalLong.of(length == null ? -1 : Long.parseLong(length.trim()));
              } catch (NumberFormatException e) {
                throw new RegistryException.Protocol(
                    operation, "the registry's Content-Length is not a number", length, null);
              }
            });
  }

  /**
   * Starts downloading a blob; the returned download has the registry's answer and streams the body
   * once started. {@code range} (an HTTP {@code Range} value, or null) is passed on. Fails with
   * {@link RegistryException.NotFound} when the registry has no such blob.
   */
  public CompletableFuture<BlobDownload> getBlob(
      RepositoryRef repo, Digest digest, String range, Credentials credentials, EventLoop loop) {
    String operation = "GET blob " + repo + "@" + digest;
    HttpHeaders headers = new DefaultHttpHeaders();
    if (range != null) {
      headers.set(HttpHeaderNames.RANGE, range);
    }
    Call call =
        new Call(
            operation,
            HttpMethod.GET,
            registryOrigin(repo),
            v2(repo, "/blobs/" + digest),
            headers,
            null,
            credentials,
            pull(repo),
            true,
            MAX_ERROR_BODY,
            true,
            loopOrNext(loop));
    return runner
        .run(call)
        .thenApply(
            r -> {
              if (r.download() == null) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              return (BlobDownload) r.download();
            });
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
    String operation = "GET blob " + repo + "@" + digest;
    Origin origin = registryOrigin(repo);
    String path = v2(repo, "/blobs/" + digest);
    Call call =
        new Call(
            operation,
            HttpMethod.GET,
            origin,
            path,
            new DefaultHttpHeaders(),
            null,
            credentials,
            pull(repo),
            true,
            MAX_ERROR_BODY,
            false,
            loopOrNext(loop));
    return runner
        .run(call)
        .thenApply(
            r -> {
              if (r.download() != null) {
                if (r.status() != 200) {
                  // A 2xx that is not the blob (no range was asked for): not ours to relay.
                  r.download().cancel();
                  throw new RegistryException.Protocol(
                      operation,
                      "the registry answered "
                          + RegistryErrors.statusText(r.status())
                          + " to a whole blob's GET");
                }
                return new BlobLocation.Here(r.download());
              }
              int status = r.status();
              String location = r.headers().get(HttpHeaderNames.LOCATION);
              if (status == 301
                  || status == 302
                  || status == 303
                  || status == 307
                  || status == 308) {
                URI target;
                try {
                  target = origin.resolve(path).resolve(location == null ? "" : location.trim());
                  Origin.of(target);
                } catch (RuntimeException e) {
                  throw new RegistryException.Protocol(
                      operation,
                      "the registry redirected to an unusable URL (or sent no Location)");
                }
                if (location == null || location.isBlank()) {
                  throw new RegistryException.Protocol(
                      operation, "the registry redirected without a Location");
                }
                return new BlobLocation.Elsewhere(
                    status,
                    target,
                    URI.create(origin.toString()),
                    httpDate(r.headers().get(HttpHeaderNames.DATE)));
              }
              throw RegistryErrors.fromResponse(operation, r, credentials);
            });
  }

  /** An HTTP {@code Date} (RFC 1123), or null. */
  static Instant httpDate(String value) {
    if (value == null) {
      return null;
    }
    try {
      return ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /**
   * A small blob, read whole into memory and checked against its digest. Fails with a {@link
   * RegistryException.Protocol} when it is larger than {@code maxBytes}.
   */
  public CompletableFuture<byte[]> getBlobBytes(
      RepositoryRef repo, Digest digest, int maxBytes, Credentials credentials, EventLoop loop) {
    String operation = "GET blob " + repo + "@" + digest;
    Call call =
        new Call(
            operation,
            HttpMethod.GET,
            registryOrigin(repo),
            v2(repo, "/blobs/" + digest),
            new DefaultHttpHeaders(),
            null,
            credentials,
            pull(repo),
            false,
            maxBytes,
            true,
            loopOrNext(loop));
    return runner
        .run(call)
        .thenApply(
            r -> {
              if (r.status() != 200) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              Digest actual = Digest.sha256(r.body());
              if (!actual.equals(digest)) {
                throw new IntegrityException(
                    operation + ": the registry sent other content than the digest names",
                    "its digest is " + actual);
              }
              return r.body();
            });
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
    Digest d = digest != null ? digest : Digest.sha256(content);
    Descriptor descriptor = new Descriptor(mediaType, d, content.length);
    EventLoop l = loopOrNext(loop);
    if (!config.checkBeforeUpload()) {
      return uploadWhole(repo, content, d, credentials, l).thenApply(stored -> descriptor);
    }
    String scope = push(repo);
    return headBlob(repo, d, credentials, scope, l)
        .thenCompose(
            size -> {
              if (size.isPresent()) {
                return CompletableFuture.completedFuture(descriptor);
              }
              return uploadWhole(repo, content, d, credentials, l).thenApply(stored -> descriptor);
            });
  }

  /**
   * A body held in memory, in one request where the registry can: the OCI "single POST" ({@code
   * POST /blobs/uploads/?digest=} with the body, answered 201). A registry that cannot (the CNCF
   * registry answers 202 and ignores the body) opens a session instead, and the body goes in a
   * {@code PUT} to its Location: the same two requests as without the attempt. That answer is
   * remembered per registry, so later bodies there go as an empty {@code POST} and one {@code PUT}
   * (the body crosses the link twice only once). Until a registry has shown that it can, only
   * bodies up to {@code monolithicUploadBytes} try it.
   */
  private CompletableFuture<Digest> uploadWhole(
      RepositoryRef repo, byte[] content, Digest digest, Credentials credentials, EventLoop loop) {
    Origin origin = registryOrigin(repo);
    Boolean single = singlePost.get(origin);
    if (Boolean.FALSE.equals(single)
        || (single == null && content.length > config.monolithicUploadBytes())) {
      return uploadInSession(repo, content, digest, credentials, loop);
    }
    String operation = "POST blob " + repo + "@" + digest;
    HttpHeaders headers =
        new DefaultHttpHeaders()
            .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
    return run(
            operation,
            HttpMethod.POST,
            repo,
            "/blobs/uploads/?digest=" + digest,
            headers,
            content,
            credentials,
            push(repo),
            MAX_ERROR_BODY,
            loop)
        .thenCompose(
            r -> {
              if (r.status() == 201) {
                String stored = r.headers().get("Docker-Content-Digest");
                if (stored != null && !stored.equals(digest.toString())) {
                  throw new IntegrityException(
                      operation
                          + ": the registry stored another digest than the "
                          + digest
                          + " we sent",
                      "it says " + stored);
                }
                remember(origin, true);
                return CompletableFuture.completedFuture(digest);
              }
              if (r.status() == 202) {
                remember(origin, false);
                URI session = sessionLocation(operation, repo, r);
                // A registry that kept the body as the session's first bytes says so in Range
                // ("0-<last>"); then the PUT only closes it. Otherwise the body goes again.
                boolean kept =
                    content.length > 1
                        && ("0-" + (content.length - 1))
                            .equals(r.headers().get(HttpHeaderNames.RANGE));
                return closeUploadSession(
                        repo, session, digest, kept ? new byte[0] : content, credentials, loop)
                    .thenApply(stored -> refillSessions(repo, credentials, loop, stored));
              }
              throw RegistryErrors.fromResponse(operation, r, credentials);
            });
  }

  /**
   * A body held in memory through a session: one opened ahead when there is one ({@link
   * UploadSessionReserve}), so only the final {@code PUT} waits; else {@code POST} and {@code PUT}.
   * A session opened ahead that the registry no longer knows ({@code 404}, or another {@code 4xx}
   * than an auth or rate answer) is given up for a fresh one, once: the body is still here. A
   * success tops the reserve up (these credentials worked).
   */
  private CompletableFuture<Digest> uploadInSession(
      RepositoryRef repo, byte[] content, Digest digest, Credentials credentials, EventLoop loop) {
    Supplier<CompletableFuture<Digest>> fresh =
        () ->
            openUploadSession(repo, credentials, loop)
                .thenCompose(
                    location ->
                        closeUploadSession(repo, location, digest, content, credentials, loop));
    if (sessions == null) {
      return fresh.get();
    }
    UploadSessionReserve.Taken taken = sessions.take(sessionScope(repo, credentials));
    taken.expired().forEach(UploadSessionReserve.Held::drop);
    CompletableFuture<Digest> stored;
    if (taken.session() == null) {
      stored = fresh.get();
    } else {
      stored =
          taken
              .session()
              .handle((location, openFailed) -> location)
              .thenCompose(
                  location -> {
                    if (location == null) {
                      return fresh.get();
                    }
                    return closeUploadSession(repo, location, digest, content, credentials, loop)
                        .handle(
                            (d, error) -> {
                              if (error == null) {
                                return CompletableFuture.completedFuture(d);
                              }
                              Throwable cause = Causes.of(error);
                              if (cause instanceof RegistryException.NotFound
                                  || cause instanceof RegistryException.Protocol) {
                                log.debug(
                                    "{}: the session opened ahead was refused ({}); opening"
                                        + " another",
                                    repo,
                                    cause.getMessage());
                                return fresh.get();
                              }
                              return CompletableFuture.<Digest>failedFuture(cause);
                            })
                        .thenCompose(f -> f);
                  });
    }
    return stored.thenApply(d -> refillSessions(repo, credentials, loop, d));
  }

  /**
   * After an upload with {@code credentials} succeeded: tops their reserve up. Returns {@code d}.
   */
  private Digest refillSessions(
      RepositoryRef repo, Credentials credentials, EventLoop loop, Digest d) {
    if (sessions != null) {
      sessions
          .refill(
              sessionScope(repo, credentials),
              () -> openUploadSession(repo, credentials, loop),
              location -> cancelUploadSession(repo, location, credentials, loop))
          .forEach(UploadSessionReserve.Held::drop);
    }
    return d;
  }

  private UploadSessionReserve.Scope sessionScope(RepositoryRef repo, Credentials credentials) {
    return new UploadSessionReserve.Scope(
        registryOrigin(repo), repo.repository(), credentials.fingerprint());
  }

  /** The sessions opened ahead (tests); null when off. */
  UploadSessionReserve sessionReserve() {
    return sessions;
  }

  /**
   * Per registry origin: whether it completes a single-POST upload (true), opens a session instead
   * (false); absent when not tried yet. Bounded: origins come from the repositories a caller names,
   * and forgetting costs one redundant body.
   */
  private final Map<Origin, Boolean> singlePost = new ConcurrentHashMap<>();

  private static final int MAX_SINGLE_POST_ORIGINS = 1024;

  private void remember(Origin origin, boolean supported) {
    if (singlePost.size() >= MAX_SINGLE_POST_ORIGINS && !singlePost.containsKey(origin)) {
      singlePost.clear();
    }
    singlePost.put(origin, supported);
  }

  /** Whether the registry of {@code repo} completed a single-POST upload; empty when not tried. */
  public Optional<Boolean> singlePostSupported(RepositoryRef repo) {
    return Optional.ofNullable(singlePost.get(registryOrigin(repo)));
  }

  // --- tags -----------------------------------------------------------------------------------

  /** The largest page of a tag list we read: distribution 2.8 ignores {@code n} and sends all. */
  static final int MAX_TAG_PAGE_BYTES = 16 << 20;

  /**
   * The repository's tags ({@code GET /v2/<name>/tags/list?n=}), following the registry's {@code
   * Link: <…>; rel="next"} pages for at most {@code maxPages} pages; empty and complete when the
   * repository does not exist (404). {@link TagList#complete()} is false when pages were left.
   */
  public CompletableFuture<TagList> listTags(
      RepositoryRef repo, int pageSize, int maxPages, Credentials credentials, EventLoop loop) {
    if (pageSize < 1 || maxPages < 1) {
      throw new IllegalArgumentException(
          "pageSize " + pageSize + ", maxPages " + maxPages + " (expected: at least 1 each)");
    }
    EventLoop l = loopOrNext(loop);
    return listTags(
        repo, v2(repo, "/tags/list?n=" + pageSize), new ArrayList<>(), 1, maxPages, credentials, l);
  }

  private CompletableFuture<TagList> listTags(
      RepositoryRef repo,
      String target,
      List<String> tags,
      int page,
      int maxPages,
      Credentials credentials,
      EventLoop loop) {
    String operation = "GET tags " + repo + " (page " + page + ")";
    Call call =
        new Call(
            operation,
            HttpMethod.GET,
            registryOrigin(repo),
            target,
            new DefaultHttpHeaders().set(HttpHeaderNames.ACCEPT, "application/json"),
            null,
            credentials,
            pull(repo),
            false,
            MAX_TAG_PAGE_BYTES,
            false,
            loop);
    return runner
        .run(call)
        .thenCompose(
            r -> {
              if (r.status() == 404 && page == 1) {
                return CompletableFuture.completedFuture(new TagList(List.of(), true));
              }
              if (r.status() != 200) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              tags.addAll(TagList.parsePage(operation, r.body()));
              String next = TagList.nextPage(r.headers().getAll("Link"));
              if (next == null) {
                return CompletableFuture.completedFuture(new TagList(tags, true));
              }
              if (page >= maxPages) {
                return CompletableFuture.completedFuture(new TagList(tags, false));
              }
              URI uri = registryOrigin(repo).resolve(target).resolve(next);
              if (!Origin.of(uri).equals(registryOrigin(repo))) {
                throw new RegistryException.Protocol(
                    operation, "the next page is on another host", uri.getHost(), null);
              }
              return listTags(
                  repo, BlobUpload.pathAndQuery(uri), tags, page + 1, maxPages, credentials, loop);
            });
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
    String operation =
        "mount blob "
            + digest
            + " from "
            + repo.registry()
            + "/"
            + fromRepository
            + " into "
            + repo;
    RepositoryRef from = RepositoryRef.of(repo.registry(), fromRepository);
    EventLoop l = loopOrNext(loop);
    String query = "/blobs/uploads/?mount=" + digest + "&from=" + from.repository();
    return run(
            operation,
            HttpMethod.POST,
            repo,
            query,
            new DefaultHttpHeaders(),
            new byte[0],
            credentials,
            push(repo) + " " + pull(from),
            MAX_ERROR_BODY,
            l)
        .thenApply(
            r -> {
              if (r.status() == 201) {
                return true;
              }
              if (r.status() == 202) {
                // The registry opened an ordinary upload session instead; we do not use it.
                String location = r.headers().get(HttpHeaderNames.LOCATION);
                if (location != null) {
                  cancelUploadSession(
                      repo,
                      registryOrigin(repo).resolve(v2(repo, "/blobs/uploads/")).resolve(location),
                      credentials,
                      l);
                }
                return false;
              }
              throw RegistryErrors.fromResponse(operation, r, credentials);
            });
  }

  /**
   * A streaming upload of a blob of {@code size} bytes, or of unknown size when {@code size} is -1.
   * Nothing is sent until the first bytes are written.
   */
  public BlobUpload upload(
      RepositoryRef repo, long size, String mediaType, Credentials credentials, EventLoop loop) {
    return new BlobUpload(this, repo, size, mediaType, credentials, loopOrNext(loop));
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
    return Origin.ofRegistry(repo.endpoint(), config.tlsFor(repo.registry()));
  }

  /** Sends a call built by BlobUpload (its PATCHes) the way every call goes. */
  CompletableFuture<Response> run(Call call) {
    return runner.run(call);
  }

  CompletableFuture<URI> openUploadSession(
      RepositoryRef repo, Credentials credentials, EventLoop loop) {
    String operation = "POST blob upload " + repo;
    return run(
            operation,
            HttpMethod.POST,
            repo,
            "/blobs/uploads/",
            new DefaultHttpHeaders(),
            new byte[0],
            credentials,
            push(repo),
            MAX_ERROR_BODY,
            loop)
        .thenApply(
            r -> {
              if (r.status() != 202) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              return sessionLocation(operation, repo, r);
            });
  }

  /** The upload session a 202 names, absolute; refused when it would downgrade TLS. */
  private URI sessionLocation(String operation, RepositoryRef repo, Response r) {
    String location = r.headers().get(HttpHeaderNames.LOCATION);
    if (location == null) {
      throw new RegistryException.Protocol(operation, "the registry's 202 has no Location");
    }
    URI session = registryOrigin(repo).resolve(v2(repo, "/blobs/uploads/")).resolve(location);
    if (registryOrigin(repo).tls() && !"https".equalsIgnoreCase(session.getScheme())) {
      // The blob would go in clear text (and, to the same host, the credentials).
      throw new RegistryException.Protocol(
          operation, "the registry's upload location is not https; not uploading in clear text");
    }
    return session;
  }

  CompletableFuture<Digest> closeUploadSession(
      RepositoryRef repo, URI location, Digest digest, Credentials credentials, EventLoop loop) {
    return closeUploadSession(repo, location, digest, new byte[0], credentials, loop);
  }

  private CompletableFuture<Digest> closeUploadSession(
      RepositoryRef repo,
      URI location,
      Digest digest,
      byte[] body,
      Credentials credentials,
      EventLoop loop) {
    String operation = "PUT blob " + repo + "@" + digest;
    String target = BlobUpload.pathAndQuery(location);
    target += (target.contains("?") ? "&" : "?") + "digest=" + digest;
    HttpHeaders headers =
        new DefaultHttpHeaders()
            .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
    Origin origin = Origin.of(location);
    Call call =
        new Call(
            operation,
            HttpMethod.PUT,
            origin,
            target,
            headers,
            body,
            origin.equals(registryOrigin(repo)) ? credentials : null,
            push(repo),
            false,
            MAX_ERROR_BODY,
            false,
            loop);
    return runner
        .run(call)
        .thenApply(
            r -> {
              if (r.status() != 201 && r.status() != 204 && r.status() != 200) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              String stored = r.headers().get("Docker-Content-Digest");
              return stored == null ? digest : Digest.parse(stored);
            });
  }

  /** Best effort: tells the registry to drop an upload session we give up on. */
  void cancelUploadSession(
      RepositoryRef repo, URI location, Credentials credentials, EventLoop loop) {
    Origin origin = Origin.of(location);
    Call call =
        new Call(
            "DELETE blob upload " + repo,
            HttpMethod.DELETE,
            origin,
            BlobUpload.pathAndQuery(location),
            new DefaultHttpHeaders(),
            null,
            origin.equals(registryOrigin(repo)) ? credentials : null,
            push(repo),
            false,
            MAX_ERROR_BODY,
            false,
            loop);
    runner.run(call);
  }

  // --- plumbing -------------------------------------------------------------------------------

  private CompletableFuture<Response> run(
      String operation,
      HttpMethod method,
      RepositoryRef repo,
      String pathInRepo,
      HttpHeaders headers,
      byte[] body,
      Credentials credentials,
      String scope,
      int maxBody,
      EventLoop loop) {
    Call call =
        new Call(
            operation,
            method,
            registryOrigin(repo),
            v2(repo, pathInRepo),
            headers,
            body,
            credentials,
            scope,
            false,
            maxBody,
            false,
            loopOrNext(loop));
    return runner.run(call);
  }

  private static String v2(RepositoryRef repo, String pathInRepo) {
    return "/v2/" + repo.repository() + pathInRepo;
  }

  private EventLoop loopOrNext(EventLoop loop) {
    return loop != null ? loop : group.next();
  }

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
