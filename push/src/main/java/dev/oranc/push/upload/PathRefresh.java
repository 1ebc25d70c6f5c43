package dev.oranc.push.upload;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.OciBinaryCache.Image;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.push.PushOptions;
import dev.oranc.push.db.PathInfo;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts again, written now, the manifests of a path the push found in the registry, when they are
 * old: what keeps a push during {@code oranc gc} from leaving a broken closure (issue 17).
 *
 * <p>Design note. A path the push finds in the registry is not uploaded again, and a gc whose scan
 * saw no live narinfo naming it may delete its narinfo and NAR before the narinfo of the path that
 * refers to it appears: the pushed closure would be broken. So a path found older than {@link
 * #configure refreshOlderThan} (or undated) is refreshed before the probe answers, hence before
 * anything referring to it is published: its NAR's manifest, then its narinfo's, are put again
 * under their tags with a new {@link ImageLayout#CREATED_ANNOTATION} (same layer and config; no
 * blob is sent). A gc that planned to delete the old manifest deletes it by its old digest, which
 * no longer carries the tag; a gc that deleted it already is undone (a manifest delete leaves the
 * blobs, until the registry's own garbage collection, which needs it read-only); and the refreshed
 * path is younger than gc's grace. A NAR whose manifest is gone already makes the path missing: it
 * is pushed again. A fresh path costs nothing more: its created date is in the manifest the probe
 * reads anyway. {@link PathLookup} calls it; it owns the threshold, the clock and the count.
 */
final class PathRefresh {

  /** {@link RegistryTarget}'s category: operators configure the push's registry side by it. */
  private static final Logger log = LoggerFactory.getLogger(RegistryTarget.class);

  private final OciBinaryCache cache;
  private final RepositoryRef repository;
  private final Credentials credentials;
  private final boolean dryRun;
  private final AtomicLong refreshed = new AtomicLong();
  private Duration refreshOlderThan = PushOptions.DEFAULT_REFRESH_OLDER_THAN;
  private Clock clock = Clock.systemUTC();

  PathRefresh(
      OciBinaryCache cache, RepositoryRef repository, Credentials credentials, boolean dryRun) {
    this.cache = cache;
    this.repository = repository;
    this.credentials = credentials;
    this.dryRun = dryRun;
  }

  /** See {@link RegistryTarget#refresh}. */
  void configure(Duration olderThan, Clock clock) {
    if (olderThan.isNegative()) {
      throw new IllegalArgumentException(
          "--refresh-older-than: " + olderThan + " (expected: 0 or more)");
    }
    this.refreshOlderThan = olderThan;
    this.clock = clock;
  }

  /** Paths found in the registry and refreshed; 0 in a dry run. */
  long refreshed() {
    return refreshed.get();
  }

  /**
   * The probe's answer for a path whose narinfo ({@code narInfo}, ours) is in the registry and
   * names the NAR {@code narKey}: in the registry, refreshed first when old; missing when its NAR
   * is gone.
   */
  CompletableFuture<Probe> refreshPath(PathInfo info, Image narInfo, String narKey) {
    if (!stale(narInfo.manifest())) {
      return done(Probe.IN_REGISTRY);
    }
    if (dryRun) {
      log.info("dry run: would refresh {} (written {})", info.path(), written(narInfo.manifest()));
      return done(Probe.IN_REGISTRY);
    }
    if (narKey.contains("://") || narKey.startsWith("/")) {
      log.debug(
          "{}: its NAR ({}) is not a key of this cache; refreshing the narinfo only",
          info.path(),
          narKey);
      return rewrite(narInfo).thenApply(v -> countRefresh(info, narInfo));
    }
    return cache
        .findImage(repository, narKey, credentials, null)
        .thenCompose(
            nar -> {
              if (nar.isEmpty()) {
                log.info(
                    "{}: its NAR {} is gone from the registry: pushing it again",
                    info.path(),
                    narKey);
                return done(Probe.MISSING);
              }
              CompletableFuture<Void> narDone =
                  stale(nar.get().manifest()) ? rewrite(nar.get()) : done(null);
              return narDone
                  .thenCompose(v -> rewrite(narInfo))
                  .thenApply(v -> countRefresh(info, narInfo));
            });
  }

  /**
   * The probe's answer for a NAR found without a narinfo of ours: a NAR no narinfo names yet is
   * what gc deletes first, so an old one is refreshed too before the narinfo naming it goes up.
   */
  CompletableFuture<Probe> refreshNar(Image nar) {
    Probe probe = Probe.narPresent(nar.file().blob());
    if (dryRun || !stale(nar.manifest())) {
      return done(probe);
    }
    return rewrite(nar).thenApply(v -> probe);
  }

  private Probe countRefresh(PathInfo info, Image narInfo) {
    refreshed.incrementAndGet();
    log.debug("{}: refreshed (it was written {})", info.path(), written(narInfo.manifest()));
    return Probe.IN_REGISTRY;
  }

  private static String written(Manifest manifest) {
    return ImageLayout.created(manifest).map(Object::toString).orElse("at an unknown time");
  }

  /** Whether a manifest is old enough to be refreshed: undated, or older than the threshold. */
  boolean stale(Manifest manifest) {
    Optional<Instant> created = ImageLayout.created(manifest);
    return refreshOlderThan.isZero()
        || created.isEmpty()
        || created.get().isBefore(clock.instant().minus(refreshOlderThan));
  }

  /** Puts {@code found}'s manifest again under its tag, written now: same layer, same config. */
  private CompletableFuture<Void> rewrite(Image found) {
    return cache.redate(found, clock.instant(), credentials, null).thenApply(digest -> null);
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
