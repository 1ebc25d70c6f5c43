package dev.oranc.push.upload;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.OciBinaryCache.Image;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.narinfo.NarInfoMaker;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the registry has of a path before the push uploads it ({@link Target#probe}): its narinfo,
 * ours and describing the local path (nothing to do), its NAR alone (reuse it), or neither.
 *
 * <p>Design note. The look-up is the first thing every path costs, so it asks as little as it can:
 * a {@link TagListing}, when one was taken, answers "not there" without a request; a narinfo pushed
 * by oranc push carries its signatures on its manifest ({@link
 * ImageLayout#NARINFO_SIGNATURES_ANNOTATION}), so our signature over the local path's fingerprint
 * settles it without reading the narinfo. Whatever it finds it hands to {@link PathRefresh} before
 * answering, so an old path is refreshed before anything referring to it is published.
 */
final class PathLookup {

  /** {@link RegistryTarget}'s category: operators configure the push's registry side by it. */
  private static final Logger log = LoggerFactory.getLogger(RegistryTarget.class);

  private final OciBinaryCache cache;
  private final RepositoryRef repository;
  private final Credentials credentials;
  private final NarInfoMaker maker;
  private final String storeDir;
  private final PathRefresh refresh;

  PathLookup(
      OciBinaryCache cache,
      RepositoryRef repository,
      Credentials credentials,
      NarInfoMaker maker,
      String storeDir,
      PathRefresh refresh) {
    this.cache = cache;
    this.repository = repository;
    this.credentials = credentials;
    this.maker = maker;
    this.storeDir = storeDir;
    this.refresh = refresh;
  }

  /** What the registry has of {@code info}'s path; {@code listing} is null when none was taken. */
  CompletableFuture<Probe> probe(PathInfo info, TagListing listing) {
    if (listing != null) {
      // Only what the listing showed is looked at: a tag that appeared since is uploaded again,
      // which costs time, never correctness.
      boolean narInfo = listing.contains(NarInfoMaker.narInfoKey(info.path()), cache.codec());
      boolean nar = listing.contains(NarInfoMaker.narKey(info.narHash()), cache.codec());
      if (!narInfo && !nar) {
        return done(Probe.MISSING);
      }
      if (!narInfo) {
        return probeNar(info);
      }
    }
    return cache
        .findImage(repository, NarInfoMaker.narInfoKey(info.path()), credentials, null)
        .thenCompose(
            found ->
                found.isPresent()
                    ? narKeyIfOurs(found.get().file(), info)
                        .thenCompose(
                            narKey ->
                                narKey.isPresent()
                                    ? refresh.refreshPath(info, found.get(), narKey.get())
                                    : probeNar(info))
                    : probeNar(info));
  }

  /**
   * The key of the NAR named by the narinfo {@code file} when it is ours (describes the local path
   * and carries our signature); empty when it is not. Pushed by oranc push, the NAR is {@code
   * nar/<NarHash>.nar.zst}; otherwise the narinfo is read and its URL names it.
   */
  private CompletableFuture<Optional<String>> narKeyIfOurs(StoredFile file, PathInfo info) {
    String annotated = file.annotations().get(ImageLayout.NARINFO_SIGNATURES_ANNOTATION);
    if (annotated != null) {
      // Pushed by oranc push: our signature over the local path's fingerprint settles it
      // without reading the narinfo. No match (another key, or the path changed): read it.
      List<NixSignature> sigs = new ArrayList<>();
      for (String text : annotated.trim().split(" +")) {
        try {
          sigs.add(NixSignature.parse(text));
        } catch (FormatException e) {
          // An annotation we cannot read is no evidence either way.
        }
      }
      if (maker.signedByUs(sigs, info)) {
        return done(Optional.of(NarInfoMaker.narKey(info.narHash())));
      }
    }
    if (file.size() > NarInfo.MAX_LENGTH) {
      return done(Optional.empty());
    }
    return cache
        .read(file, (int) file.size(), credentials, null)
        .thenApply(
            bytes -> {
              try {
                NarInfo remote = NarInfo.parse(storeDir, bytes);
                return maker.isOurs(remote, info)
                    ? Optional.of(remote.url())
                    : Optional.<String>empty();
              } catch (FormatException e) {
                log.debug(
                    "{}: the narinfo in the registry is unreadable, pushing it again: {}",
                    info.path(),
                    e.getMessage());
                return Optional.<String>empty();
              }
            });
  }

  /** Whether the NAR is there to be reused (refreshed first when old: {@link PathRefresh}). */
  private CompletableFuture<Probe> probeNar(PathInfo info) {
    return cache
        .findImage(repository, NarInfoMaker.narKey(info.narHash()), credentials, null)
        .thenCompose(
            (Optional<Image> found) ->
                found.isEmpty() ? done(Probe.MISSING) : refresh.refreshNar(found.get()));
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
