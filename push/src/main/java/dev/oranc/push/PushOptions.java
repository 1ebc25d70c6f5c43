package dev.oranc.push;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.db.NixDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The flags of {@code oranc push} (SPEC §4), checked once here. Secrets (credentials, the signing
 * key) are not options: they come from the environment, see {@link Push}.
 *
 * @param storeDir {@code --store-dir}, canonical
 * @param database the Nix database file (not a flag: always {@link NixDatabase#DEFAULT_FILE} on the
 *     command line, as in the Rust oranc)
 * @param noRealisations {@code --no-realisations}: upload no realisation files
 * @param maxRetry {@code --max-retry N}: attempts of a failing registry request
 * @param rateLimitWait {@code --max-retry DURATION}: how long one registry request may keep waiting
 *     on rate limits (429) before the push gives it up; {@link #DEFAULT_RATE_LIMIT_WAIT} when the
 *     flag gives a count (see {@link RetryBudget})
 * @param refreshOlderThan {@code --refresh-older-than DURATION}: a path found in the registry
 *     written longer ago than this (or undated) has its manifests put again, written now, before
 *     anything referring to it is published, so a concurrent {@code oranc gc} cannot take it away
 *     (zero: every path found); see {@code upload.PathRefresh}
 */
public record PushOptions(
    RepositoryRef repository,
    boolean noClosure,
    String storeDir,
    Pattern excludedSigningKeyPattern,
    boolean alreadySigned,
    int parallel,
    int zstdLevel,
    int maxRetry,
    boolean dryRun,
    boolean allowImmutableDb,
    boolean noSsl,
    int uploadChunkBytes,
    TagCodec tagCodec,
    Path database,
    boolean noRealisations,
    Duration rateLimitWait,
    Duration refreshOlderThan) {

  public static final String DEFAULT_EXCLUDED_SIGNING_KEY_PATTERN = "^cache\\.nixos\\.org-.*$";

  /** A push is a batch job: it waits out rate limits for minutes rather than fail. */
  public static final Duration DEFAULT_RATE_LIMIT_WAIT = Duration.ofMinutes(5);

  /** Half gc's default {@code --grace} (1h): a second push of a fresh closure refreshes nothing. */
  public static final Duration DEFAULT_REFRESH_OLDER_THAN = Duration.ofMinutes(30);

  public PushOptions {
    Objects.requireNonNull(repository, "repository");
    storeDir = StorePath.canonicalStoreDir(storeDir);
    Objects.requireNonNull(excludedSigningKeyPattern, "excludedSigningKeyPattern");
    Objects.requireNonNull(tagCodec, "tagCodec");
    Objects.requireNonNull(database, "database");
    if (parallel < 1) {
      throw new IllegalArgumentException("--parallel: " + parallel + " (expected: at least 1)");
    }
    if (zstdLevel < -7 || zstdLevel > 22) {
      throw new IllegalArgumentException("--zstd-level: " + zstdLevel + " (expected: -7 to 22)");
    }
    new RetryBudget(maxRetry, rateLimitWait); // validates both, naming --max-retry
    Objects.requireNonNull(refreshOlderThan, "refreshOlderThan");
    if (refreshOlderThan.isNegative()) {
      throw new IllegalArgumentException(
          "--refresh-older-than: " + refreshOlderThan + " (expected: 0 or more)");
    }
    if (uploadChunkBytes != 0 && uploadChunkBytes < 64 * 1024) {
      throw new IllegalArgumentException(
          "--upload-chunk-size: "
              + uploadChunkBytes
              + " (expected: 0 for one PATCH per blob, or at least 64KiB)");
    }
  }

  public static Builder builder(String registry, String repository) {
    return new Builder(RepositoryRef.of(registry, repository));
  }

  public Builder toBuilder() {
    Builder b = new Builder(repository);
    b.noClosure = noClosure;
    b.storeDir = storeDir;
    b.excludedSigningKeyPattern = excludedSigningKeyPattern;
    b.alreadySigned = alreadySigned;
    b.parallel = parallel;
    b.zstdLevel = zstdLevel;
    b.maxRetry = maxRetry;
    b.dryRun = dryRun;
    b.allowImmutableDb = allowImmutableDb;
    b.noSsl = noSsl;
    b.uploadChunkBytes = uploadChunkBytes;
    b.tagCodec = tagCodec;
    b.database = database;
    b.noRealisations = noRealisations;
    b.rateLimitWait = rateLimitWait;
    b.refreshOlderThan = refreshOlderThan;
    return b;
  }

  /** Starts from the command line's defaults. */
  public static final class Builder {
    private RepositoryRef repository;
    private boolean noClosure;
    private String storeDir = StorePath.DEFAULT_STORE_DIR;
    private Pattern excludedSigningKeyPattern =
        Pattern.compile(DEFAULT_EXCLUDED_SIGNING_KEY_PATTERN);
    private boolean alreadySigned;
    private int parallel = 4;
    private int zstdLevel = 3;
    private int maxRetry = 3;
    private boolean dryRun;
    private boolean allowImmutableDb;
    private boolean noSsl;
    private int uploadChunkBytes = RegistryClientConfig.DEFAULT_UPLOAD_CHUNK_BYTES;
    private TagCodec tagCodec = TagCodec.DEFAULT;
    private Path database = NixDatabase.DEFAULT_FILE;
    private boolean noRealisations;
    private Duration rateLimitWait = DEFAULT_RATE_LIMIT_WAIT;
    private Duration refreshOlderThan = DEFAULT_REFRESH_OLDER_THAN;

    private Builder(RepositoryRef repository) {
      this.repository = repository;
    }

    public Builder repository(RepositoryRef repository) {
      this.repository = repository;
      return this;
    }

    public Builder noClosure(boolean v) {
      noClosure = v;
      return this;
    }

    public Builder storeDir(String v) {
      storeDir = v;
      return this;
    }

    public Builder excludedSigningKeyPattern(Pattern v) {
      excludedSigningKeyPattern = v;
      return this;
    }

    public Builder alreadySigned(boolean v) {
      alreadySigned = v;
      return this;
    }

    public Builder parallel(int v) {
      parallel = v;
      return this;
    }

    public Builder zstdLevel(int v) {
      zstdLevel = v;
      return this;
    }

    public Builder maxRetry(int v) {
      maxRetry = v;
      return this;
    }

    /** {@code --max-retry}, either form. */
    public Builder maxRetry(RetryBudget v) {
      maxRetry = v.attempts();
      rateLimitWait = v.rateLimited();
      return this;
    }

    public Builder rateLimitWait(Duration v) {
      rateLimitWait = v;
      return this;
    }

    public Builder dryRun(boolean v) {
      dryRun = v;
      return this;
    }

    public Builder allowImmutableDb(boolean v) {
      allowImmutableDb = v;
      return this;
    }

    public Builder noSsl(boolean v) {
      noSsl = v;
      return this;
    }

    public Builder uploadChunkBytes(int v) {
      uploadChunkBytes = v;
      return this;
    }

    public Builder tagCodec(TagCodec v) {
      tagCodec = v;
      return this;
    }

    public Builder database(Path v) {
      database = v;
      return this;
    }

    public Builder noRealisations(boolean v) {
      noRealisations = v;
      return this;
    }

    public Builder refreshOlderThan(Duration v) {
      refreshOlderThan = v;
      return this;
    }

    public PushOptions build() {
      return new PushOptions(
          repository,
          noClosure,
          storeDir,
          excludedSigningKeyPattern,
          alreadySigned,
          parallel,
          zstdLevel,
          maxRetry,
          dryRun,
          allowImmutableDb,
          noSsl,
          uploadChunkBytes,
          tagCodec,
          database,
          noRealisations,
          rateLimitWait,
          refreshOlderThan);
    }
  }
}
