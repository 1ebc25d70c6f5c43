package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClient.DELETES_DISABLED;
import static dev.oranc.common.registry.RegistryClient.delete;
import static dev.oranc.common.registry.RegistryClient.pull;
import static dev.oranc.common.registry.RegistryClient.push;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.DigestedManifest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The manifest operations of {@link RegistryClient}: GET (parsed, bounded by {@code
 * maxManifestBytes}, with or without its digest), DELETE, and PUT.
 *
 * <p>Design note: a manifest PUT is sent again when the registry says a blob it names is unknown
 * although the caller stored it a moment ago ({@link #MANIFEST_BLOB_UNKNOWN_RETRIES} times, with
 * the client's jittered backoff, {@code CallRunner.backoffMillis}, on the caller's loop): that
 * answer is the registry's storage catching up, not a missing blob. The digest the registry reports
 * for a stored manifest must be the one we computed. A 404 is a value (empty, or false for a
 * DELETE), never an error.
 */
final class ManifestCalls extends RepositoryCalls {

  // Named after the facade: operators' log filters and the log lines stay as they were.
  private static final Logger log = LoggerFactory.getLogger(RegistryClient.class);

  ManifestCalls(RegistryClientConfig config, EventLoopGroup group, CallRunner runner) {
    super(config, group, runner);
  }

  CompletableFuture<Optional<Manifest>> getManifest(
      RepositoryRef repo, String reference, Credentials credentials, EventLoop loop) {
    return readManifest(repo, reference, credentials, loop, (manifest, bytes) -> manifest);
  }

  CompletableFuture<Optional<DigestedManifest>> getDigestedManifest(
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

  CompletableFuture<Boolean> deleteManifest(
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

  /**
   * How many times a manifest PUT is sent again when the registry says a blob it names, stored a
   * moment ago, is unknown ({@link RegistryErrors#blobJustStoredLooksUnknown}).
   */
  static final int MANIFEST_BLOB_UNKNOWN_RETRIES = 3;

  CompletableFuture<Digest> putManifest(
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
                long delay = runner.backoffMillis(retried + 1);
                log.warn(
                    "{}: {}; its blobs were stored a moment ago, sending it again in {} ms"
                        + " (retry {} of {})",
                    operation,
                    RegistryErrors.registryMessage(r.body()),
                    delay,
                    retried + 1,
                    MANIFEST_BLOB_UNKNOWN_RETRIES);
                CompletableFuture<Void> waited = new CompletableFuture<>();
                loop.schedule(() -> waited.complete(null), delay, TimeUnit.MILLISECONDS);
                return waited.thenCompose(
                    v -> putManifest(repo, tag, manifest, credentials, loop, retried + 1));
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
}
