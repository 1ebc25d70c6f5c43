package dev.oranc.push;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.registry.Credentials;
import dev.oranc.common.registry.Descriptor;
import dev.oranc.common.registry.ImageLayout;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.RegistryClientConfig;
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
import dev.oranc.push.upload.NarCompressor;
import dev.oranc.push.upload.RegistryTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code oranc push} and {@code oranc push initialize} (SPEC §4): the entry points the command
 * line calls.
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
  public PushReport run(InputStream stdin, Path workingDirectory, PrintStream err, boolean liveProgress)
      throws IOException, InterruptedException {
    long start = System.nanoTime();
    SecretKey key = signingKey(environment);
    Credentials credentials = credentials(environment);
    List<StorePath> inputs = InputPaths.read(stdin, options.storeDir(), workingDirectory);
    this.inputs = inputs;
    Closure closure;
    try (NixDatabase db =
        NixDatabase.open(options.database(), options.storeDir(), options.allowImmutableDb())) {
      closure = Closure.of(inputs, db::query, !options.noClosure());
    }
    SkipRules rules =
        new SkipRules(options.excludedSigningKeyPattern(), key.name(), options.alreadySigned());
    Map<StorePath, PathInfo> toPush = new LinkedHashMap<>();
    Map<StorePath, PathOutcome> skipped = new LinkedHashMap<>();
    for (PathInfo info : closure.paths().values()) {
      Optional<SkipRules.Skip> skip = rules.check(info);
      if (skip.isPresent()) {
        skipped.put(info.path(), new PathOutcome(info.path(), Status.SKIPPED, skip.get().toString(), 0, 0));
        log.debug("{}: skipped, {}", info.path(), skip.get());
      } else {
        toPush.put(info.path(), info);
      }
    }
    log.info(
        "{} input path{}, {} in the closure, {} skipped by signature; {} {} to {}",
        inputs.size(), inputs.size() == 1 ? "" : "s", closure.size(), skipped.size(),
        options.dryRun() ? "checking" : "pushing", toPush.size(), options.repository());

    Progress progress = new Progress();
    progress.total(closure.size());
    for (int i = 0; i < skipped.size(); i++) {
      progress.finished(Status.SKIPPED);
    }
    NarInfoMaker maker = new NarInfoMaker(key);
    List<PathOutcome> pushed;
    long published;
    try (RegistryClient client = newClient(options)) {
      RegistryTarget target =
          new RegistryTarget(
              new OciBinaryCache(client, options.tagCodec()), options.repository(), credentials,
              maker, options.storeDir(), options.dryRun());
      target.listKeys(toPush.size());
      int cores = Runtime.getRuntime().availableProcessors();
      NarCompressor compressor =
          new NarCompressor(narSource, options.zstdLevel(), cores, LARGE_NAR_BYTES);
      try (ProgressReporter reporter = ProgressReporter.start(progress, err, liveProgress)) {
        pushed = new Pipeline(target, compressor, maker, progress, settings).run(new Closure(toPush));
      }
      published = target.published();
    }
    List<PathOutcome> outcomes = new ArrayList<>(closure.size());
    Map<StorePath, PathOutcome> byPath = new LinkedHashMap<>();
    for (PathOutcome o : pushed) {
      byPath.put(o.path(), o);
    }
    for (StorePath path : closure.paths().keySet()) {
      outcomes.add(skipped.containsKey(path) ? skipped.get(path) : byPath.get(path));
    }
    return new PushReport(outcomes, Duration.ofNanos(System.nanoTime() - start), options.dryRun(), published);
  }

  /** The input paths of the last {@link #run}, as resolved (what {@code push --pin} pins). */
  public List<StorePath> inputs() {
    return inputs;
  }

  /**
   * {@code oranc push initialize}: uploads {@code nix-cache-info} (in a dry run, only says what
   * it would upload).
   *
   * @return the file's text
   */
  public String initialize(int priority, boolean wantMassQuery) throws InterruptedException {
    String text =
        "StoreDir: " + options.storeDir() + "\n"
            + "WantMassQuery: " + (wantMassQuery ? 1 : 0) + "\n"
            + "Priority: " + priority + "\n";
    if (options.dryRun()) {
      log.info("dry run: would upload {} to {}:\n{}", NIX_CACHE_INFO, options.repository(), text);
      return text;
    }
    Credentials credentials = credentials(environment);
    try (RegistryClient client = newClient(options)) {
      OciBinaryCache cache = new OciBinaryCache(client, options.tagCodec());
      byte[] body = text.getBytes(StandardCharsets.UTF_8);
      CompletableFuture<?> f =
          client
              .putBlob(options.repository(), body, null, ImageLayout.LAYER_MEDIA_TYPE, credentials, null)
              .thenCompose(
                  (Descriptor blob) ->
                      cache.publish(options.repository(), NIX_CACHE_INFO, blob,
                          NIX_CACHE_INFO_CONTENT_TYPE, null, credentials, null));
      await(f);
    }
    log.info("uploaded {} to {}", NIX_CACHE_INFO, options.repository());
    return text;
  }

  private static void await(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(10, TimeUnit.MINUTES);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof java.util.concurrent.CompletionException c && c.getCause() != null) {
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
            .uploadChunkBytes(options.uploadChunkBytes())
            .monolithicUploadBytes(
                Math.min(RegistryClientConfig.builder().build().monolithicUploadBytes(),
                    options.uploadChunkBytes() == 0 ? Integer.MAX_VALUE : options.uploadChunkBytes()))
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
          SIGNING_KEY_VARIABLE + " is not set: it must hold the Nix secret key that signs the"
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
