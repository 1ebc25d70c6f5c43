package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClient.pull;

import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * The blob reads of {@link RegistryClient}: HEAD (the size, or empty), GET streamed ({@link
 * BlobDownload}), GET without following a redirect ({@link BlobLocation}: the bytes here, or where
 * the registry sent us), and GET of a small blob whole, checked against its digest.
 *
 * <p>Design note: HEAD and the streamed GET follow redirects in {@link CallRunner} (registries on
 * S3, GCS or Azure answer 307 to their storage, which gets no Authorization); {@code locateBlob}
 * does not, so that the server can pass a presigned URL on instead of relaying the bytes. Nothing
 * here collects a blob in memory except {@code getBlobBytes}, bounded by its caller's limit.
 */
final class BlobReads extends RepositoryCalls {

  BlobReads(RegistryClientConfig config, EventLoopGroup group, CallRunner runner) {
    super(config, group, runner);
  }

  CompletableFuture<OptionalLong> headBlob(
      RepositoryRef repo, Digest digest, Credentials credentials, EventLoop loop) {
    return headBlob(repo, digest, credentials, pull(repo), loop);
  }

  CompletableFuture<OptionalLong> headBlob(
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

  CompletableFuture<BlobDownload> getBlob(
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

  CompletableFuture<BlobLocation> locateBlob(
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

  CompletableFuture<byte[]> getBlobBytes(
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
}
