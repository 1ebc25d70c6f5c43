package dev.oranc.push.upload;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.oci.TagList;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.OciBinaryCache.Image;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.PushOptions;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.narinfo.NarInfoMaker;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A {@link Target} that is an OCI repository, through the oranc image layout (SPEC §1). */
public final class RegistryTarget implements Target {

  private static final Logger log = LoggerFactory.getLogger(RegistryTarget.class);

  private final OciBinaryCache cache;
  private final RepositoryRef repository;
  private final Credentials credentials;
  private final NarInfoMaker maker;
  private final String storeDir;
  private final boolean dryRun;
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong refreshed = new AtomicLong();
  private Duration refreshOlderThan = PushOptions.DEFAULT_REFRESH_OLDER_THAN;
  private Clock clock = Clock.systemUTC();

  /**
   * Configs of NAR images on their way, by the NAR's digest: started as soon as the NAR's digest is
   * known (its last byte handed over), while the NAR's blob completes; taken by publishNar.
   */
  private final Map<Digest, CompletableFuture<Descriptor>> narConfigs = new ConcurrentHashMap<>();

  /** Narinfo blobs and configs on their way ({@link #stageNarInfo}), by narinfo key. */
  private final Map<String, Staged> stagedNarInfos = new ConcurrentHashMap<>();

  /** A narinfo's blob and its image's config, uploading or uploaded, untagged. */
  private record Staged(
      Digest digest, CompletableFuture<Descriptor> blob, CompletableFuture<Descriptor> config) {}

  /** The keys the repository holds, from one tag listing; null when not listed. */
  private volatile Listing listed;

  /**
   * What one tag listing showed: the keys its tags decode to, and the hashed tags (keys too long
   * for a tag), which name no key by themselves.
   */
  record Listing(Set<String> keys, Set<String> hashedTags) {

    static Listing of(Iterable<String> tags, TagCodec codec) {
      Set<String> keys = new HashSet<>();
      Set<String> hashed = new HashSet<>();
      for (String tag : tags) {
        if (TagCodec.isHashed(tag)) {
          hashed.add(tag);
          continue;
        }
        try {
          keys.add(codec.decode(tag));
        } catch (FormatException e) {
          // Not a tag of ours (another tool's image in the same repository).
        }
      }
      return new Listing(keys, hashed);
    }

    /**
     * Whether the key may be there: its tag was listed. A hashed tag is only a hint (the manifest
     * says which key it holds), so the key is then looked up, and read only if it matches.
     */
    boolean contains(String key, TagCodec codec) {
      if (keys.contains(key)) {
        return true;
      }
      if (!hashedTags.isEmpty()) {
        for (Tag tag : codec.readTags(key)) {
          if (hashedTags.contains(tag.value())) {
            return true;
          }
        }
      }
      return false;
    }
  }

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
    this.maker = maker;
    this.storeDir = storeDir;
    this.dryRun = dryRun;
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
    if (paths < LIST_THRESHOLD) {
      return false;
    }
    try {
      TagList tags =
          cache
              .client()
              .listTags(repository, 1000, paths, credentials, null)
              .get(5, TimeUnit.MINUTES);
      if (!tags.complete()) {
        log.debug("{}: more than {} pages of tags; looking paths up one by one", repository, paths);
        return false;
      }
      Listing listing = Listing.of(tags.tags(), cache.codec());
      listed = listing;
      log.debug(
          "{}: {} tags listed", repository, listing.keys().size() + listing.hashedTags().size());
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      log.debug("{}: cannot list tags ({}); looking paths up one by one", repository, e.toString());
      return false;
    }
  }

  /**
   * Whether the repository holds {@code key}: from the listing when {@link #listKeys} made one (no
   * request), else one look-up. A registry failure fails the future, never reads as absent.
   */
  public CompletableFuture<Boolean> has(String key) {
    Listing listing = listed;
    if (listing != null && !listing.contains(key, cache.codec())) {
      return done(false);
    }
    return cache.find(repository, key, credentials, null).thenApply(Optional::isPresent);
  }

  /** Below this many paths, looking each up costs fewer requests than listing the repository. */
  static final int LIST_THRESHOLD = 8;

  @Override
  public CompletableFuture<Probe> probe(PathInfo info) {
    Listing listing = listed;
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
                                    ? refreshPath(info, found.get(), narKey.get())
                                    : probeNar(info))
                    : probeNar(info));
  }

  /**
   * Design note: a push during {@code oranc gc} (issue 17). A path the push finds in the registry
   * is not uploaded again, and a gc whose scan saw no live narinfo naming it may delete its narinfo
   * and NAR before the narinfo of the path that refers to it appears: the pushed closure would be
   * broken. So a path found older than {@link #refresh refreshOlderThan} (or undated) is refreshed
   * before the probe answers, hence before anything referring to it is published: its NAR's
   * manifest, then its narinfo's, are put again under their tags with a new {@link
   * ImageLayout#CREATED_ANNOTATION} (same layer and config; no blob is sent). A gc that planned to
   * delete the old manifest deletes it by its old digest, which no longer carries the tag; a gc
   * that deleted it already is undone (a manifest delete leaves the blobs, until the registry's own
   * garbage collection, which needs it read-only); and the refreshed path is younger than gc's
   * grace. A NAR whose manifest is gone already makes the path missing: it is pushed again. A fresh
   * path costs nothing more: its created date is in the manifest the probe reads anyway.
   */
  private CompletableFuture<Probe> refreshPath(PathInfo info, Image narInfo, String narKey) {
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

  /** Paths found in the registry and refreshed (see {@link #refreshPath}); 0 in a dry run. */
  public long refreshed() {
    return refreshed.get();
  }

  /**
   * Refresh a path found in the registry when its manifest is older than {@code olderThan} (zero:
   * always), as {@code clock} tells; by default {@code PushOptions.DEFAULT_REFRESH_OLDER_THAN}.
   */
  public RegistryTarget refresh(Duration olderThan, Clock clock) {
    if (olderThan.isNegative()) {
      throw new IllegalArgumentException(
          "--refresh-older-than: " + olderThan + " (expected: 0 or more)");
    }
    this.refreshOlderThan = olderThan;
    this.clock = clock;
    return this;
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
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

  /**
   * Whether the NAR is there to be reused. A NAR no narinfo names yet is what gc deletes first, so
   * an old one is refreshed too before the narinfo naming it goes up (see {@link #refreshPath}).
   */
  private CompletableFuture<Probe> probeNar(PathInfo info) {
    return cache
        .findImage(repository, NarInfoMaker.narKey(info.narHash()), credentials, null)
        .thenCompose(
            (Optional<Image> found) -> {
              if (found.isEmpty()) {
                return done(Probe.MISSING);
              }
              StoredFile f = found.get().file();
              Probe probe = Probe.narPresent(f.blob());
              if (dryRun || !stale(found.get().manifest())) {
                return done(probe);
              }
              return rewrite(found.get()).thenApply(v -> probe);
            });
  }

  @Override
  public NarSink openNar() {
    if (dryRun) {
      return new DigestSink();
    }
    BlobOutputStream stream = new BlobOutputStream(cache.upload(repository, -1, credentials, null));
    return new NarSink() {
      @Override
      public OutputStream stream() {
        return stream;
      }

      @Override
      public CompletableFuture<Descriptor> finish() throws IOException {
        CompletableFuture<Descriptor> stored = stream.finish();
        // The config names only the NAR's digest: it goes up beside the NAR's last request.
        stream
            .described()
            .thenAccept(
                d ->
                    narConfigs.computeIfAbsent(
                        d.digest(),
                        digest -> cache.putConfig(repository, digest, credentials, null)));
        return stored;
      }

      @Override
      public CompletableFuture<Descriptor> described() {
        return stream.described();
      }

      @Override
      public void whileBlocked(Runnable before, Runnable after) {
        stream.whileBlocked(before, after);
      }

      @Override
      public void abort(Throwable cause) {
        stream.abort(cause);
      }

      @Override
      public void close() {
        stream.close();
      }
    };
  }

  @Override
  public CompletableFuture<Void> publishNar(PathInfo info, Descriptor blob) {
    if (dryRun) {
      return done(null);
    }
    CompletableFuture<Descriptor> config = narConfigs.remove(blob.digest());
    if (config == null || config.isCompletedExceptionally()) {
      config = cache.putConfig(repository, blob.digest(), credentials, null);
    }
    return cache
        .publish(
            repository,
            NarInfoMaker.narKey(info.narHash()),
            blob,
            NarInfoMaker.NAR_CONTENT_TYPE,
            null,
            Map.of(),
            config,
            credentials,
            null)
        .thenApply(
            tag -> {
              published.incrementAndGet();
              return null;
            });
  }

  @Override
  public CompletableFuture<Void> publishNarInfo(PathInfo info, NarInfo narInfo) {
    if (dryRun) {
      return done(null);
    }
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
        .thenApply(
            tag -> {
              published.incrementAndGet();
              return null;
            });
  }

  @Override
  public void stageNarInfo(PathInfo info, NarInfo narInfo) {
    if (dryRun) {
      return;
    }
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

  /**
   * Whether the repository's tag listing showed {@code key} (only a hint for a hashed tag); false
   * when it was not listed.
   */
  public boolean listed(String key) {
    Listing listing = listed;
    return listing != null && listing.contains(key, cache.codec());
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

  /** A dry run's NAR "upload": the SHA-256 and size of what would have been sent. */
  private static final class DigestSink implements NarSink {
    private final MessageDigest sha256 = Digest.newSha256();
    private long size;
    private final OutputStream stream =
        new OutputStream() {
          @Override
          public void write(int b) {
            sha256.update((byte) b);
            size++;
          }

          @Override
          public void write(byte[] b, int off, int len) {
            sha256.update(b, off, len);
            size += len;
          }
        };

    @Override
    public OutputStream stream() {
      return stream;
    }

    private CompletableFuture<Descriptor> finished;

    @Override
    public CompletableFuture<Descriptor> finish() {
      finished =
          done(new Descriptor(ImageLayout.LAYER_MEDIA_TYPE, Digest.of(sha256.digest()), size));
      return finished;
    }

    @Override
    public CompletableFuture<Descriptor> described() {
      return finished;
    }

    @Override
    public void abort(Throwable cause) {}

    @Override
    public void close() {}
  }
}
