package dev.oranc.push;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.throttle.Throttling;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.closure.Closure;
import dev.oranc.push.closure.SkipRules;
import dev.oranc.push.db.NixDatabase;
import dev.oranc.push.db.PathInfo;
import dev.oranc.push.input.InputPaths;
import dev.oranc.push.nar.NarSource;
import dev.oranc.push.nar.StoreNarSource;
import dev.oranc.push.narinfo.NarInfoMaker;
import dev.oranc.push.pipeline.Pipeline;
import dev.oranc.push.pipeline.PipelineSettings;
import dev.oranc.push.progress.Progress;
import dev.oranc.push.progress.ProgressReporter;
import dev.oranc.push.realisation.Realisation;
import dev.oranc.push.upload.NarCompressor;
import dev.oranc.push.upload.RegistryTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code oranc push} and {@code oranc push initialize} (SPEC §4): the entry points the command line
 * calls.
 *
 * <p>Everything that can be wrong with the input, the database or the signing key is found before
 * the first request to the registry, and is a {@link PushException}: nothing has been uploaded
 * then. Once uploading, a path that fails is reported in the {@link PushReport} and the others go
 * on.
 */
public final class Push {

  private static final Logger log = LoggerFactory.getLogger(Push.class);

  public static final String SIGNING_KEY_VARIABLE = "ORANC_SIGNING_KEY";
  public static final String USERNAME_VARIABLE = "ORANC_USERNAME";
  public static final String PASSWORD_VARIABLE = "ORANC_PASSWORD";
  public static final String NIX_CACHE_INFO = "nix-cache-info";
  public static final String NIX_CACHE_INFO_CONTENT_TYPE = "text/x-nix-cache-info";

  /** NARs this large are compressed with zstd's worker threads (see {@link NarCompressor}). */
  static final long LARGE_NAR_BYTES = 64L << 20;

  private final PushOptions options;
  private final Map<String, String> environment;
  private NarSource narSource = new StoreNarSource();
  private Clock clock = Clock.systemUTC();
  private PipelineSettings settings;
  private List<StorePath> inputs = List.of();

  /**
   * @param environment where {@code ORANC_SIGNING_KEY}, {@code ORANC_USERNAME} and {@code
   *     ORANC_PASSWORD} are read ({@code System.getenv()} on the command line)
   */
  public Push(PushOptions options, Map<String, String> environment) {
    this.options = options;
    this.environment = Map.copyOf(environment);
    this.settings = PipelineSettings.of(options.parallel(), options.maxRetry());
  }

  /** Replaces how NARs are made (tests compare writers; the default reads the store). */
  public Push narSource(NarSource source) {
    this.narSource = source;
    return this;
  }

  /**
   * Replaces the clock that dates refreshes and judges what is old ({@code --refresh-older-than}).
   */
  public Push clock(Clock clock) {
    this.clock = clock;
    return this;
  }

  /** Replaces the concurrency derived from the options. */
  public Push settings(PipelineSettings settings) {
    this.settings = settings;
    return this;
  }

  /**
   * Pushes the paths named on {@code stdin} and their closure.
   *
   * @param workingDirectory what relative input lines (./result) are relative to
   * @param err where the live progress line goes when {@code liveProgress}
   * @throws PushException when nothing could be pushed: bad input, database or signing key
   */
  public PushReport run(
      InputStream stdin, Path workingDirectory, PrintStream err, boolean liveProgress)
      throws IOException, InterruptedException {
    long start = System.nanoTime();
    SecretKey key = signingKey(environment);
    Credentials credentials = credentials(environment);
    List<StorePath> inputs = InputPaths.read(stdin, options.storeDir(), workingDirectory);
    this.inputs = inputs;
    Closure closure;
    Map<StorePath, List<Realisation>> realisations = new LinkedHashMap<>();
    try (NixDatabase db =
        NixDatabase.open(options.database(), options.storeDir(), options.allowImmutableDb())) {
      closure = Closure.of(inputs, db::query, !options.noClosure());
      if (!options.noRealisations()) {
        for (StorePath path : closure.paths().keySet()) {
          List<Realisation> of = db.realisations(path);
          if (!of.isEmpty()) {
            realisations.put(path, of);
          }
        }
      }
    }
    SkipRules rules =
        new SkipRules(options.excludedSigningKeyPattern(), key.name(), options.alreadySigned());
    Map<StorePath, PathInfo> toPush = new LinkedHashMap<>();
    Map<StorePath, PathOutcome> skipped = new LinkedHashMap<>();
    for (PathInfo info : closure.paths().values()) {
      Optional<SkipRules.Skip> skip = rules.check(info);
      if (skip.isPresent()) {
        skipped.put(
            info.path(), new PathOutcome(info.path(), Status.SKIPPED, skip.get().toString(), 0, 0));
        log.debug("{}: skipped, {}", info.path(), skip.get());
      } else {
        toPush.put(info.path(), info);
      }
    }
    log.info(
        "{} input path{}, {} in the closure, {} skipped by signature; {} {} to {}",
        inputs.size(),
        inputs.size() == 1 ? "" : "s",
        closure.size(),
        skipped.size(),
        options.dryRun() ? "checking" : "pushing",
        toPush.size(),
        options.repository());

    Progress progress = new Progress();
    progress.total(closure.size());
    for (int i = 0; i < skipped.size(); i++) {
      progress.finished(Status.SKIPPED);
    }
    NarInfoMaker maker = new NarInfoMaker(key);
    List<PathOutcome> pushed;
    long published;
    RealisationOutcome realisationOutcome;
    String cacheInfo;
    Throttling throttling;
    try (RegistryClient client = newClient(options)) {
      RegistryTarget target =
          new RegistryTarget(
                  new OciBinaryCache(client, options.tagCodec()),
                  options.repository(),
                  credentials,
                  maker,
                  options.storeDir(),
                  options.dryRun())
              .refresh(options.refreshOlderThan(), clock);
      target.listKeys(toPush.size());
      cacheInfo = ensureCacheInfo(client, target, credentials);
      int cores = Runtime.getRuntime().availableProcessors();
      NarCompressor compressor =
          new NarCompressor(narSource, options.zstdLevel(), cores, LARGE_NAR_BYTES);
      try (ProgressReporter reporter = ProgressReporter.start(progress, err, liveProgress)) {
        pushed =
            new Pipeline(target, compressor, maker, progress, settings).run(new Closure(toPush));
      }
      published = target.published();
      if (target.refreshed() > 0) {
        log.info(
            "refreshed {} path{} written more than {} ago, so that a concurrent gc keeps them",
            target.refreshed(),
            target.refreshed() == 1 ? "" : "s",
            options.refreshOlderThan().toString().substring(2).toLowerCase(Locale.ROOT));
      }
      realisationOutcome = uploadRealisations(target, key, realisations, pushed);
      throttling = client.throttling();
    }
    List<PathOutcome> outcomes = new ArrayList<>(closure.size());
    Map<StorePath, PathOutcome> byPath = new LinkedHashMap<>();
    for (PathOutcome o : pushed) {
      byPath.put(o.path(), o);
    }
    for (StorePath path : closure.paths().keySet()) {
      outcomes.add(skipped.containsKey(path) ? skipped.get(path) : byPath.get(path));
    }
    return new PushReport(
        outcomes,
        Duration.ofNanos(System.nanoTime() - start),
        options.dryRun(),
        published,
        realisationOutcome.uploaded(),
        realisationOutcome.failures(),
        cacheInfo,
        throttling);
  }

  private record RealisationOutcome(long uploaded, List<String> failures) {}

  /** Realisations go up this many at a time. */
  private static final int REALISATION_UPLOADS = 8;

  /**
   * Uploads the realisations of the paths whose narinfo is now in the registry (pushed by this
   * push, or ours already), signed with our key, after the pipeline: so a realisation never names a
   * path the cache does not have (Nix would take the output for substitutable, then fail to fetch
   * it). Paths that failed or were skipped (another cache's) get none. A realisation of a path that
   * was in the registry already, whose key the tag listing shows, is not uploaded again.
   */
  private static RealisationOutcome uploadRealisations(
      RegistryTarget target,
      SecretKey key,
      Map<StorePath, List<Realisation>> realisations,
      List<PathOutcome> pushed)
      throws InterruptedException {
    if (realisations.isEmpty()) {
      return new RealisationOutcome(0, List.of());
    }
    List<Realisation> toUpload = new ArrayList<>();
    for (PathOutcome o : pushed) {
      List<Realisation> of = realisations.get(o.path());
      if (of == null) {
        continue;
      }
      boolean inCache = o.status().pushed() || o.status() == Status.IN_REGISTRY;
      for (Realisation r : of) {
        if (!inCache) {
          log.debug(
              "{}: not uploaded, its output {} is not in the cache ({})",
              r.key(),
              o.path(),
              o.status());
        } else if (o.status() == Status.IN_REGISTRY && target.listed(r.key())) {
          log.debug("{}: in the registry already", r.key());
        } else {
          toUpload.add(r.signedWith(key));
        }
      }
    }
    List<String> failures = new ArrayList<>();
    long uploaded = 0;
    for (int from = 0; from < toUpload.size(); from += REALISATION_UPLOADS) {
      List<Realisation> batch =
          toUpload.subList(from, Math.min(toUpload.size(), from + REALISATION_UPLOADS));
      List<CompletableFuture<Void>> futures = new ArrayList<>();
      for (Realisation r : batch) {
        futures.add(target.publishFile(r.key(), r.json(), Realisation.CONTENT_TYPE));
      }
      for (int i = 0; i < batch.size(); i++) {
        try {
          futures.get(i).get(10, TimeUnit.MINUTES);
          uploaded++;
          log.debug("{}: uploaded", batch.get(i).key());
        } catch (ExecutionException | TimeoutException e) {
          Throwable cause =
              e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
          if (cause instanceof CompletionException c && c.getCause() != null) {
            cause = c.getCause();
          }
          String line = "failed: realisation " + batch.get(i).id() + ": " + cause.getMessage();
          log.error(line);
          failures.add(line);
        }
      }
    }
    return new RealisationOutcome(uploaded, failures);
  }

  /** The input paths of the last {@link #run}, as resolved (what {@code push --pin} pins). */
  public List<StorePath> inputs() {
    return inputs;
  }

  /**
   * {@code oranc push initialize}: uploads {@code nix-cache-info} (in a dry run, only says what it
   * would upload).
   *
   * @return the file's text
   */
  public String initialize(int priority, boolean wantMassQuery) throws InterruptedException {
    String text = cacheInfoText(priority, wantMassQuery);
    if (options.dryRun()) {
      log.info("dry run: would upload {} to {}:\n{}", NIX_CACHE_INFO, options.repository(), text);
      return text;
    }
    Credentials credentials = credentials(environment);
    try (RegistryClient client = newClient(options)) {
      uploadCacheInfo(client, credentials, text);
    }
    log.info("uploaded {} to {}", NIX_CACHE_INFO, options.repository());
    return text;
  }

  /** What {@code push initialize} writes by default: {@code --priority}'s default, mass query. */
  public static final int DEFAULT_PRIORITY = 41;

  private String cacheInfoText(int priority, boolean wantMassQuery) {
    return "StoreDir: "
        + options.storeDir()
        + "\n"
        + "WantMassQuery: "
        + (wantMassQuery ? 1 : 0)
        + "\n"
        + "Priority: "
        + priority
        + "\n";
  }

  private void uploadCacheInfo(RegistryClient client, Credentials credentials, String text)
      throws InterruptedException {
    OciBinaryCache cache = new OciBinaryCache(client, options.tagCodec());
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    await(
        cache.store(
            options.repository(),
            NIX_CACHE_INFO,
            body,
            NIX_CACHE_INFO_CONTENT_TYPE,
            null,
            credentials,
            null));
  }

  /**
   * A cache without {@code nix-cache-info} is one Nix cannot use as a substituter ({@code nix copy
   * --from} fails on it, and before this its first reader with write rights wrote it through the
   * server): a push into such a cache writes it, with {@code push initialize}'s defaults, before
   * the first path, and says so in the summary. An existing one is never replaced. Not being able
   * to check or write it does not stop the push: the paths are what was asked for.
   *
   * @return the summary's line, empty when the file was there
   */
  private String ensureCacheInfo(
      RegistryClient client, RegistryTarget target, Credentials credentials)
      throws InterruptedException {
    boolean present;
    try {
      present = target.has(NIX_CACHE_INFO).get(5, TimeUnit.MINUTES);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      log.debug("cannot look up {} in {}", NIX_CACHE_INFO, options.repository(), cause);
      return "could not check the cache's " + NIX_CACHE_INFO + ": " + cause.getMessage();
    }
    if (present) {
      return "";
    }
    String text = cacheInfoText(DEFAULT_PRIORITY, true);
    String fields = text.strip().replace("\n", ", ");
    if (options.dryRun()) {
      return "the cache has no " + NIX_CACHE_INFO + ": would write it (" + fields + ")";
    }
    try {
      uploadCacheInfo(client, credentials, text);
    } catch (RuntimeException e) {
      log.debug("cannot write {} to {}", NIX_CACHE_INFO, options.repository(), e);
      return "the cache has no "
          + NIX_CACHE_INFO
          + " and it could not be written: "
          + e.getMessage();
    }
    log.info("wrote {} to {} (it had none)", NIX_CACHE_INFO, options.repository());
    return "the cache had no "
        + NIX_CACHE_INFO
        + ": wrote it ("
        + fields
        + "; 'oranc push initialize' changes it)";
  }

  private static void await(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(10, TimeUnit.MINUTES);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CompletionException c && c.getCause() != null) {
        cause = c.getCause();
      }
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(cause);
    } catch (TimeoutException e) {
      throw new IllegalStateException("the registry did not answer in 10 minutes", e);
    }
  }

  /**
   * No HEAD before small uploads: a push uploads a blob only for a key the registry does not have,
   * so the blob is new but for a crash between its upload and its tag.
   */
  private static RegistryClient newClient(PushOptions options) {
    return new RegistryClient(
        RegistryClientConfig.builder()
            .tls(!options.noSsl())
            .maxAttempts(options.maxRetry())
            .maxRetryAfter(options.rateLimitWait())
            .uploadChunkBytes(options.uploadChunkBytes())
            .monolithicUploadBytes(
                Math.min(
                    RegistryClientConfig.builder().build().monolithicUploadBytes(),
                    options.uploadChunkBytes() == 0
                        ? Integer.MAX_VALUE
                        : options.uploadChunkBytes()))
            .checkBeforeUpload(false)
            .build());
  }

  /**
   * The signing key from {@code ORANC_SIGNING_KEY}.
   *
   * @throws PushException.SigningKey when it is missing or malformed (never quoting it)
   */
  static SecretKey signingKey(Map<String, String> environment) {
    String text = environment.get(SIGNING_KEY_VARIABLE);
    if (text == null || text.isBlank()) {
      throw new PushException.SigningKey(
          SIGNING_KEY_VARIABLE
              + " is not set: it must hold the Nix secret key that signs the"
              + " pushed paths, as 'nix key generate-secret --key-name NAME' prints it"
              + " (name:base64)");
    }
    try {
      return SecretKey.parse(text);
    } catch (FormatException e) {
      throw new PushException.SigningKey(SIGNING_KEY_VARIABLE + ": " + e.getMessage());
    }
  }

  /** Basic credentials when both variables are set; anonymous otherwise, as the Rust oranc. */
  public static Credentials credentials(Map<String, String> environment) {
    String user = environment.get(USERNAME_VARIABLE);
    String password = environment.get(PASSWORD_VARIABLE);
    if (user != null && password != null) {
      return Credentials.basic(user, password);
    }
    if (user != null || password != null) {
      log.warn(
          "{} is set but {} is not: pushing anonymously",
          user != null ? USERNAME_VARIABLE : PASSWORD_VARIABLE,
          user != null ? PASSWORD_VARIABLE : USERNAME_VARIABLE);
    } else {
      log.debug("no {}/{}: pushing anonymously", USERNAME_VARIABLE, PASSWORD_VARIABLE);
    }
    return Credentials.anonymous();
  }
}
