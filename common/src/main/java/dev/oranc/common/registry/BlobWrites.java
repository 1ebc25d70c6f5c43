package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClient.pull;
import static dev.oranc.common.registry.RegistryClient.push;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The blob writes of {@link RegistryClient} that are not a stream: a blob held in memory ({@code
 * putBlob}), a cross-repository mount, and the upload-session calls a streamed {@link BlobUpload}
 * makes (open, close with the digest, cancel).
 *
 * <p>Design note: this is the one part with state, both bounded. {@link UploadSessionReserve} holds
 * sessions opened ahead per registry, repository and credentials (null when {@code
 * uploadSessionReserve} is 0), so that a small blob waits for one {@code PUT} only; {@code
 * singlePost} remembers per registry origin whether it completes the OCI single-POST upload, so a
 * registry that does not (the CNCF registry) is sent an empty {@code POST} from then on. A session
 * location that would take the blob from TLS to clear text is refused.
 */
final class BlobWrites extends RepositoryCalls {

  // Named after the facade: operators' log filters and the log lines stay as they were.
  private static final Logger log = LoggerFactory.getLogger(RegistryClient.class);

  /** Upload sessions opened ahead; null when {@code uploadSessionReserve} is 0. */
  private final UploadSessionReserve sessions;

  /** For the {@code HEAD} before an upload. */
  private final BlobReads reads;

  BlobWrites(
      RegistryClientConfig config,
      EventLoopGroup group,
      CallRunner runner,
      BlobReads reads,
      Ticker ticker) {
    super(config, group, runner);
    this.reads = reads;
    this.sessions =
        config.uploadSessionReserve() == 0
            ? null
            : new UploadSessionReserve(
                config.uploadSessionReserve(), UploadSessionReserve.MAX_AGE, ticker);
  }

  CompletableFuture<Descriptor> putBlob(
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
    return reads
        .headBlob(repo, d, credentials, scope, l)
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

  Optional<Boolean> singlePostSupported(RepositoryRef repo) {
    return Optional.ofNullable(singlePost.get(registryOrigin(repo)));
  }

  CompletableFuture<Boolean> mountBlob(
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
}
