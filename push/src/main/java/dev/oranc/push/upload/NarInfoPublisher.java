package dev.oranc.push.upload;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.narinfo.NarInfoMaker;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A path's narinfo into the registry: its blob and its image's config as soon as they are known
 * ({@link #stageNarInfo}), its tag when the pipeline says so ({@link #publishNarInfo}).
 *
 * <p>Design note. Neither a blob nor a config is visible to a reader until a tag names them, so the
 * narinfo's two go up while its NAR still completes, and only the tag waits for the NAR's tag and
 * the references' narinfos. What was staged is kept here by narinfo key; a narinfo that differs by
 * the time it is published (another digest), or whose staging failed, is simply uploaded again. The
 * manifest carries the narinfo's signatures, so the next push need not read the narinfo ({@link
 * PathLookup}). No dry run here: {@link RegistryTarget} keeps this class out of one.
 */
final class NarInfoPublisher {

  private final OciBinaryCache cache;
  private final RepositoryRef repository;
  private final Credentials credentials;

  /** Narinfo blobs and configs on their way ({@link #stageNarInfo}), by narinfo key. */
  private final Map<String, Staged> stagedNarInfos = new ConcurrentHashMap<>();

  /** A narinfo's blob and its image's config, uploading or uploaded, untagged. */
  private record Staged(
      Digest digest, CompletableFuture<Descriptor> blob, CompletableFuture<Descriptor> config) {}

  NarInfoPublisher(OciBinaryCache cache, RepositoryRef repository, Credentials credentials) {
    this.cache = cache;
    this.repository = repository;
    this.credentials = credentials;
  }

  CompletableFuture<Void> publishNarInfo(PathInfo info, NarInfo narInfo) {
    String key = NarInfoMaker.narInfoKey(info.path());
    byte[] body = narInfo.formatBytes();
    Digest digest = Digest.sha256(body);
    Staged staged = stagedNarInfos.remove(key);
    if (staged == null
        || !staged.digest().equals(digest)
        || staged.blob().isCompletedExceptionally()
        || staged.config().isCompletedExceptionally()) {
      staged = stage(body, digest);
    }
    CompletableFuture<Descriptor> config = staged.config();
    return staged
        .blob()
        .thenCompose(
            blob ->
                cache.publish(
                    repository,
                    key,
                    blob,
                    NarInfo.CONTENT_TYPE,
                    null,
                    signaturesAnnotation(narInfo),
                    config,
                    credentials,
                    null))
        .thenApply(tag -> null);
  }

  void stageNarInfo(PathInfo info, NarInfo narInfo) {
    byte[] body = narInfo.formatBytes();
    Staged staged = stage(body, Digest.sha256(body));
    stagedNarInfos.put(NarInfoMaker.narInfoKey(info.path()), staged);
  }

  /** The narinfo's blob and its config, both at once: neither is visible until the tag. */
  private Staged stage(byte[] body, Digest digest) {
    CompletableFuture<Descriptor> blob = cache.upload(repository, body, digest, credentials, null);
    CompletableFuture<Descriptor> config = cache.putConfig(repository, digest, credentials, null);
    return new Staged(digest, blob, config);
  }

  /** The narinfo's signatures on its manifest, so that the next push need not read the narinfo. */
  static Map<String, String> signaturesAnnotation(NarInfo narInfo) {
    if (narInfo.sigs().isEmpty()) {
      return Map.of();
    }
    StringBuilder sigs = new StringBuilder();
    for (NixSignature sig : narInfo.sigs()) {
      sigs.append(sigs.length() == 0 ? "" : " ").append(sig);
    }
    return Map.of(ImageLayout.NARINFO_SIGNATURES_ANNOTATION, sigs.toString());
  }
}
