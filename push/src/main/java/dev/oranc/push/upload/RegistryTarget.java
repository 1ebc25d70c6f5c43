package dev.oranc.push.upload;

import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.narinfo.NarInfoMaker;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Target} that is an OCI repository, through the oranc image layout (SPEC §1).
 *
 * <p>Design note. The push's one door to the registry; it holds the repository, the credentials and
 * the dry-run switch, counts what it published, and hands each job to its own class: the tag
 * listing ({@link TagListing}), the look-up of a path ({@link PathLookup}) with the refresh of an
 * old one ({@link PathRefresh}, issue 17), the NAR's upload and tag ({@link NarPublisher}), the
 * narinfo's staging and tag ({@link NarInfoPublisher}). A dry run looks in the registry as a push
 * does and writes nothing: its NARs go to a {@link DigestSink}, its publishes do nothing.
 */
public final class RegistryTarget implements Target {

  private final OciBinaryCache cache;
  private final RepositoryRef repository;
  private final Credentials credentials;
  private final boolean dryRun;
  private final AtomicLong published = new AtomicLong();
  private final PathRefresh refresh;
  private final PathLookup lookup;
  private final NarPublisher nars;
  private final NarInfoPublisher narInfos;

  /** The keys the repository holds, from one tag listing; null when not listed. */
  private volatile TagListing listed;

  /**
   * @param dryRun probe the registry, but write nothing: NARs are only hashed, publishing does
   *     nothing
   */
  public RegistryTarget(
      OciBinaryCache cache,
      RepositoryRef repository,
      Credentials credentials,
      NarInfoMaker maker,
      String storeDir,
      boolean dryRun) {
    this.cache = cache;
    this.repository = repository;
    this.credentials = credentials;
    this.dryRun = dryRun;
    this.refresh = new PathRefresh(cache, repository, credentials, dryRun);
    this.lookup = new PathLookup(cache, repository, credentials, maker, storeDir, refresh);
    this.nars = new NarPublisher(cache, repository, credentials);
    this.narInfos = new NarInfoPublisher(cache, repository, credentials);
  }

  /** Files (NARs and narinfos) published so far; 0 in a dry run. */
  public long published() {
    return published.get();
  }

  /**
   * Lists the repository's tags once, so that probing a path the repository does not have costs no
   * request (a fresh push of N paths saves 2N look-ups). Skipped for small pushes, where the
   * look-ups are cheaper than a listing, and given up when the listing would take more pages than
   * there are paths (a huge repository): then every path is looked up on its own.
   *
   * @return whether the repository was listed
   */
  public boolean listKeys(int paths) {
    TagListing listing = TagListing.take(cache, repository, credentials, paths);
    if (listing == null) {
      return false;
    }
    listed = listing;
    return true;
  }

  /**
   * Whether the repository holds {@code key}: from the listing when {@link #listKeys} made one (no
   * request), else one look-up. A registry failure fails the future, never reads as absent.
   */
  public CompletableFuture<Boolean> has(String key) {
    TagListing listing = listed;
    if (listing != null && !listing.contains(key, cache.codec())) {
      return done(false);
    }
    return cache.find(repository, key, credentials, null).thenApply(Optional::isPresent);
  }

  /**
   * Whether the repository's tag listing showed {@code key} (only a hint for a hashed tag); false
   * when it was not listed.
   */
  public boolean listed(String key) {
    TagListing listing = listed;
    return listing != null && listing.contains(key, cache.codec());
  }

  @Override
  public CompletableFuture<Probe> probe(PathInfo info) {
    return lookup.probe(info, listed);
  }

  /** Paths found in the registry and refreshed (see {@link PathRefresh}); 0 in a dry run. */
  public long refreshed() {
    return refresh.refreshed();
  }

  /**
   * Refresh a path found in the registry when its manifest is older than {@code olderThan} (zero:
   * always), as {@code clock} tells; by default {@code PushOptions.DEFAULT_REFRESH_OLDER_THAN}.
   */
  public RegistryTarget refresh(Duration olderThan, Clock clock) {
    refresh.configure(olderThan, clock);
    return this;
  }

  @Override
  public NarSink openNar() {
    return dryRun ? new DigestSink() : nars.openNar();
  }

  @Override
  public CompletableFuture<Void> publishNar(PathInfo info, Descriptor blob) {
    return dryRun ? done(null) : counted(nars.publishNar(info, blob));
  }

  @Override
  public CompletableFuture<Void> publishNarInfo(PathInfo info, NarInfo narInfo) {
    return dryRun ? done(null) : counted(narInfos.publishNarInfo(info, narInfo));
  }

  @Override
  public void stageNarInfo(PathInfo info, NarInfo narInfo) {
    if (!dryRun) {
      narInfos.stageNarInfo(info, narInfo);
    }
  }

  /**
   * Uploads {@code body} as the file {@code key} (a realisation: small, whole in memory). Not
   * counted in {@link #published()}, which counts the paths' files.
   */
  public CompletableFuture<Void> publishFile(String key, byte[] body, String contentType) {
    if (dryRun) {
      return done(null);
    }
    return cache
        .store(repository, key, body, contentType, null, credentials, null)
        .thenApply(tag -> null);
  }

  /** A path's file published: counted in {@link #published()}. */
  private CompletableFuture<Void> counted(CompletableFuture<Void> publish) {
    return publish.thenApply(
        v -> {
          published.incrementAndGet();
          return null;
        });
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
