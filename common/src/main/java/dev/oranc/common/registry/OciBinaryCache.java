package dev.oranc.common.registry;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import io.netty.channel.EventLoop;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * A Nix binary cache kept in OCI repositories: cache keys in, stored files out (SPEC §1, §2). The
 * one place that combines the tag codec, the image layout and the registry client.
 */
public final class OciBinaryCache {

  private final RegistryClient client;
  private final TagCodec codec;

  public OciBinaryCache(RegistryClient client, TagCodec codec) {
    this.client = client;
    this.codec = codec;
  }

  public RegistryClient client() {
    return client;
  }

  public TagCodec codec() {
    return codec;
  }

  /**
   * The file stored under {@code key}: the main encoding's tag first, then each fallback. Empty
   * only when the registry said "not found" for every tag; when a tag could not be read (the
   * registry failed) and none was found, that failure is the answer — a registry failure is never
   * reported as a miss. A key too long for a tag is read from its hashed tag, and only when that
   * manifest names this key ({@link ImageLayout#read(RepositoryRef, Tag, Manifest, String)}).
   */
  public CompletableFuture<Optional<StoredFile>> find(
      RepositoryRef repo, String key, Credentials credentials, EventLoop loop) {
    return findImage(repo, key, credentials, loop).thenApply(found -> found.map(Image::file));
  }

  /** A key found in the registry: the tag it was found under, its manifest as read, its file. */
  public record Image(Tag tag, Manifest manifest, StoredFile file) {}

  /**
   * As {@link #find}, keeping the tag and the manifest it was read from (whose {@link
   * ImageLayout#CREATED_ANNOTATION} says how old the key is): the same requests.
   */
  public CompletableFuture<Optional<Image>> findImage(
      RepositoryRef repo, String key, Credentials credentials, EventLoop loop) {
    List<Tag> tags = codec.readTags(key);
    return find(repo, key, tags, 0, null, credentials, loop);
  }

  private CompletableFuture<Optional<Image>> find(
      RepositoryRef repo,
      String key,
      List<Tag> tags,
      int index,
      RegistryException firstFailure,
      Credentials credentials,
      EventLoop loop) {
    if (index == tags.size()) {
      return firstFailure == null
          ? CompletableFuture.completedFuture(Optional.empty())
          : CompletableFuture.failedFuture(firstFailure);
    }
    Tag tag = tags.get(index);
    return client
        .getManifest(repo, tag.value(), credentials, loop)
        .handle(
            (manifest, error) -> {
              if (error == null) {
                if (manifest.isPresent()) {
                  return CompletableFuture.completedFuture(
                      Optional.of(
                          new Image(
                              tag,
                              manifest.get(),
                              ImageLayout.read(repo, tag, manifest.get(), key))));
                }
                return find(repo, key, tags, index + 1, firstFailure, credentials, loop);
              }
              Throwable cause = Causes.of(error);
              if (cause instanceof RegistryException e && index + 1 < tags.size()) {
                return find(
                    repo,
                    key,
                    tags,
                    index + 1,
                    firstFailure == null ? e : firstFailure,
                    credentials,
                    loop);
              }
              return CompletableFuture.<Optional<Image>>failedFuture(
                  firstFailure != null ? firstFailure : cause);
            })
        .thenCompose(f -> f);
  }

  /**
   * The bytes of {@code file}, read whole into memory and checked against its digest; a file of
   * more than {@code maxBytes} is a {@link RegistryException.Protocol}.
   */
  public CompletableFuture<byte[]> read(
      StoredFile file, int maxBytes, Credentials credentials, EventLoop loop) {
    return client.getBlobBytes(file.repository(), file.digest(), maxBytes, credentials, loop);
  }

  /**
   * Puts {@code found}'s manifest again under its tag, dated {@code now} ({@link
   * ImageLayout#redated}): the same layer and config, no blob. How {@code oranc push} refreshes a
   * key that {@code oranc gc} could otherwise find too old.
   */
  public CompletableFuture<Digest> redate(
      Image found, Instant now, Credentials credentials, EventLoop loop) {
    return client.putManifest(
        found.file().repository(),
        found.tag().value(),
        ImageLayout.redated(found.manifest(), now),
        credentials,
        loop);
  }

  /**
   * Stores {@code body}, held in memory, as the file under {@code key}: its blob, then its image
   * ({@link #publish}). What {@code oranc push} writes whole (nix-cache-info, realisations) and
   * {@code oranc pin} does.
   */
  public CompletableFuture<Tag> store(
      RepositoryRef repo,
      String key,
      byte[] body,
      String contentType,
      String contentEncoding,
      Credentials credentials,
      EventLoop loop) {
    return upload(repo, body, null, credentials, loop)
        .thenCompose(
            blob -> publish(repo, key, blob, contentType, contentEncoding, credentials, loop));
  }

  /**
   * Starts uploading a file's bytes, streamed as they come ({@code length} -1 when not known), as
   * the blob of its image's one layer. Nothing is visible until {@link #publish} tags the image.
   */
  public BlobUpload upload(
      RepositoryRef repo, long length, Credentials credentials, EventLoop loop) {
    return client.upload(repo, length, ImageLayout.LAYER_MEDIA_TYPE, credentials, loop);
  }

  /** As above, for bytes held in memory; {@code digest} is theirs, or null to have it computed. */
  public CompletableFuture<Descriptor> upload(
      RepositoryRef repo, byte[] body, Digest digest, Credentials credentials, EventLoop loop) {
    return client.putBlob(repo, body, digest, ImageLayout.LAYER_MEDIA_TYPE, credentials, loop);
  }

  /**
   * Makes {@code blob} (already uploaded) the file stored under {@code key}: uploads its config and
   * tags the image's manifest with the key's main-encoding tag.
   */
  public CompletableFuture<Tag> publish(
      RepositoryRef repo,
      String key,
      Descriptor blob,
      String contentType,
      String contentEncoding,
      Credentials credentials,
      EventLoop loop) {
    return publish(repo, key, blob, contentType, contentEncoding, Map.of(), credentials, loop);
  }

  /** As above, with more layer annotations of our own ({@code dev.oranc.*}). */
  public CompletableFuture<Tag> publish(
      RepositoryRef repo,
      String key,
      Descriptor blob,
      String contentType,
      String contentEncoding,
      Map<String, String> annotations,
      Credentials credentials,
      EventLoop loop) {
    return publish(
        repo,
        key,
        blob,
        contentType,
        contentEncoding,
        annotations,
        putConfig(repo, blob.digest(), credentials, loop),
        credentials,
        loop);
  }

  /**
   * Uploads the config of the image that will hold the layer {@code layer} (SPEC §1: it names the
   * layer's digest, so each file has its own), so that it can go up while the layer does.
   */
  public CompletableFuture<Descriptor> putConfig(
      RepositoryRef repo, Digest layer, Credentials credentials, EventLoop loop) {
    return client.putBlob(
        repo,
        ImageLayout.configJson(layer),
        null,
        ImageLayout.CONFIG_MEDIA_TYPE,
        credentials,
        loop);
  }

  /**
   * As above, with the config on its way already ({@link #putConfig}): the manifest goes up once it
   * is there. The caller sees to it that {@code blob} is stored by then.
   */
  public CompletableFuture<Tag> publish(
      RepositoryRef repo,
      String key,
      Descriptor blob,
      String contentType,
      String contentEncoding,
      Map<String, String> annotations,
      CompletableFuture<Descriptor> config,
      Credentials credentials,
      EventLoop loop) {
    Tag tag = codec.writeTag(key);
    Descriptor layer =
        ImageLayout.layer(blob.digest(), blob.size(), contentType, contentEncoding, annotations);
    return config
        .thenCompose(
            configDescriptor ->
                client.putManifest(
                    repo,
                    tag.value(),
                    ImageLayout.manifest(key, layer, configDescriptor),
                    credentials,
                    loop))
        .thenApply(digest -> tag);
  }

  /**
   * Starts downloading the bytes of {@code file} (or of {@code range}, an HTTP {@code Range} value,
   * when not null), streamed: the download has the registry's answer and streams the body once
   * started ({@link RegistryClient#getBlob}). For a file too large to {@link #read} whole.
   */
  public CompletableFuture<BlobDownload> open(
      StoredFile file, String range, Credentials credentials, EventLoop loop) {
    return client.getBlob(file.repository(), file.digest(), range, credentials, loop);
  }

  /**
   * One {@code GET} of {@code file}'s bytes that does not follow a redirect: the registry's bytes,
   * or where it sent the request (presigned storage); see {@link RegistryClient#locateBlob}.
   */
  public CompletableFuture<BlobLocation> locate(
      StoredFile file, Credentials credentials, EventLoop loop) {
    return client.locateBlob(file.repository(), file.digest(), credentials, loop);
  }

  /**
   * Whether the registry has the blob {@code digest} in {@code repo} (one {@code HEAD}), whatever
   * tag names it, if any: how a narinfo's NAR stored by another server is told from a missing one.
   */
  public CompletableFuture<Boolean> blobExists(
      RepositoryRef repo, Digest digest, Credentials credentials, EventLoop loop) {
    return client.headBlob(repo, digest, credentials, loop).thenApply(OptionalLong::isPresent);
  }
}
