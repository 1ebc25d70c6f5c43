package dev.oranc.cli;

import dev.oranc.common.error.OrancException;
import dev.oranc.push.Push;
import dev.oranc.push.PushException;
import dev.oranc.push.PushOptions;
import dev.oranc.push.PushReport;
import dev.oranc.push.progress.ProgressReporter;
import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.RetentionException;
import dev.oranc.retention.pin.Pins;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(
    name = "push",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    subcommands = PushCommand.Initialize.class,
    description = {
      "Upload store paths from the local Nix store to an OCI registry.",
      "",
      "Reads store paths (or links to them, such as ./result) from standard input, one per line,"
          + " and pushes them with their closure: the zstd-compressed NAR first, then the signed"
          + " narinfo.",
      "  echo ./result | ORANC_SIGNING_KEY=... oranc push --repository owner/cache",
    },
    footer = {
      "",
      "Environment:",
      "  ORANC_USERNAME, ORANC_PASSWORD  registry credentials (both, or anonymous)",
      "  ORANC_SIGNING_KEY               Nix secret key (name:base64, as printed by"
          + " nix key generate-secret) that signs every pushed path",
    })
final class PushCommand implements Callable<Integer> {

  @Mixin RegistryOptions target;

  @Option(
      names = "--no-closure",
      description = "Push only the given paths, not the paths they reference.")
  boolean noClosure;

  @Option(
      names = "--store-dir",
      paramLabel = "DIR",
      defaultValue = "/nix/store",
      description = "The Nix store directory. Default: ${DEFAULT-VALUE}.")
  String storeDir;

  @Option(
      names = {"-e", "--excluded-signing-key-pattern"},
      paramLabel = "REGEX",
      defaultValue = "^cache\\.nixos\\.org-.*$",
      converter = Converters.Regex.class,
      description =
          "Skip paths signed by a key whose name matches (these are in the official cache"
              + " already); '^$' skips none. Default: ${DEFAULT-VALUE}.")
  Pattern excludedSigningKeyPattern;

  @Option(
      names = "--already-signed",
      description =
          "Also push paths that already carry a signature by the signing key (by default they are"
              + " taken to be pushed already and skipped).")
  boolean alreadySigned;

  @Option(
      names = {"-p", "--parallel"},
      paramLabel = "NUM",
      defaultValue = "4",
      converter = Bounded.AtLeastOne.class,
      description =
          "Store paths pushed at the same time (uploads in flight); no more than the cores "
              + "compress at once, so a larger NUM fills a slow link without more CPU. "
              + "Default: ${DEFAULT-VALUE}.")
  int parallel;

  @Option(
      names = {"-z", "--zstd-level"},
      paramLabel = "NUM",
      defaultValue = "3",
      converter = Bounded.ZstdLevel.class,
      description =
          "zstd compression level of NARs, -7 (fastest) to 22 (smallest). Default:"
              + " ${DEFAULT-VALUE}.")
  int zstdLevel;

  @Option(
      names = "--dry-run",
      description = "Compute and report what would be pushed; upload nothing.")
  boolean dryRun;

  @Option(
      names = "--allow-immutable-db",
      description =
          "When /nix/var/nix/db is not writable, open the Nix database with SQLite's immutable=1"
              + " (unsafe if Nix writes to it meanwhile) instead of failing.")
  boolean allowImmutableDb;

  @Option(
      names = "--pin",
      paramLabel = "NAME",
      description =
          "Once every path is up, set pin NAME to the input paths, so 'oranc gc' keeps their"
              + " closure whatever its age (as 'oranc pin add NAME' does). Not set when a path"
              + " failed.")
  String pin;

  @Option(
      names = "--no-realisations",
      description =
          "Do not upload the realisations (realisations/<id>.doi) the Nix database records for"
              + " the pushed paths (content-addressed derivations). They go up by default, each"
              + " after the narinfo of the path it names, signed with ORANC_SIGNING_KEY.")
  boolean noRealisations;

  @Option(
      names = "--refresh-older-than",
      paramLabel = "DURATION",
      defaultValue = "30m",
      converter = GcCommand.DurationConverter.class,
      description =
          "A path already in the cache written longer ago than this (e.g. 0s, 30m, 2h; 0s: every"
              + " one) or undated has its narinfo and NAR written again (their manifests only, no"
              + " upload) before anything referring to it is published, so an 'oranc gc' running"
              + " meanwhile cannot take it away. Default: ${DEFAULT-VALUE}.")
  Duration refreshOlderThan;

  @Mixin UploadOptions upload;

  @Mixin EncodingOptions encoding;

  @Spec CommandSpec spec;

  /**
   * Checked here rather than with {@code required = true}: picocli would then refuse {@code push
   * initialize --help} for want of the parent's option.
   */
  void requireRepository() {
    target.requireRepository(spec);
  }

  PushOptions options() {
    return PushOptions.builder(target.registry, target.repository)
        .noClosure(noClosure)
        .storeDir(storeDir)
        .excludedSigningKeyPattern(excludedSigningKeyPattern)
        .alreadySigned(alreadySigned)
        .parallel(parallel)
        .zstdLevel(zstdLevel)
        .maxRetry(target.maxRetry)
        .dryRun(dryRun)
        .allowImmutableDb(allowImmutableDb)
        .noSsl(target.noSsl)
        .uploadChunkBytes(upload.chunkBytes())
        .tagCodec(encoding.codec())
        .noRealisations(noRealisations)
        .refreshOlderThan(refreshOlderThan)
        .build();
  }

  /**
   * A push that could not start (bad input, database, signing key) is one line and exit 1, with
   * nothing uploaded; a push that ran prints its summary and every failed path, and exits 1 if any
   * failed.
   */
  @Override
  public Integer call() throws Exception {
    requireRepository();
    PrintWriter err = spec.commandLine().getErr();
    if (pin != null) {
      Pins.key(pin); // a bad name is refused before anything is uploaded
    }
    PushReport report;
    Push push = new Push(options(), System.getenv());
    try {
      report =
          push.run(
              System.in,
              Path.of("").toAbsolutePath(),
              System.err,
              ProgressReporter.stderrIsTerminal());
    } catch (PushException e) {
      err.println(spec.qualifiedName() + ": " + e.getMessage());
      err.flush();
      return ExecutionErrors.EXIT_FAILURE;
    }
    for (String line : report.summary()) {
      err.println(line);
    }
    if (report.failures().isEmpty() && !report.realisationFailures().isEmpty()) {
      err.println(
          spec.qualifiedName()
              + ": "
              + report.realisationFailures().size()
              + " realisations were not uploaded (listed above); the paths were");
    } else if (!report.succeeded()) {
      err.println(
          spec.qualifiedName()
              + ": "
              + report.failures().size()
              + " of "
              + report.outcomes().size()
              + " paths were not pushed (listed above)");
    }
    if (pin != null && !setPin(push, report, err)) {
      err.flush();
      return ExecutionErrors.EXIT_FAILURE;
    }
    err.flush();
    return report.succeeded() ? 0 : ExecutionErrors.EXIT_FAILURE;
  }

  /** {@code --pin}: after the push, only when every narinfo of it is up. */
  private boolean setPin(Push push, PushReport report, PrintWriter err)
      throws InterruptedException {
    if (!report.succeeded()) {
      err.println(spec.qualifiedName() + ": pin " + pin + " not set, as not every path was pushed");
      return true;
    }
    if (dryRun) {
      err.println("would set pin " + pin + " to " + push.inputs().size() + " paths");
      return true;
    }
    try (CacheTarget cache = target.open(spec, encoding)) {
      new Pins(cache).set(pin, push.inputs());
    } catch (RetentionException | OrancException e) {
      err.println(spec.qualifiedName() + ": pin " + pin + " not set: " + e.getMessage());
      return false;
    }
    err.println("pin " + pin + " set to " + push.inputs().size() + " paths");
    return true;
  }

  @Command(
      name = "initialize",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      sortOptions = false,
      description = {
        "Upload the cache's nix-cache-info (StoreDir, WantMassQuery, Priority).",
        "Example: oranc push --repository owner/cache initialize",
      })
  static final class Initialize implements Callable<Integer> {

    @ParentCommand PushCommand push;

    @Option(
        names = {"-p", "--priority"},
        paramLabel = "NUM",
        defaultValue = "41",
        converter = Bounded.Priority.class,
        description =
            "Priority of the cache: Nix prefers lower numbers (cache.nixos.org is 40)."
                + " Default: ${DEFAULT-VALUE}.")
    int priority;

    @Option(
        names = {"-n", "--no-mass-query"},
        description = "Write WantMassQuery: 0 (Nix then does not query the cache in bulk).")
    boolean noMassQuery;

    @Override
    public Integer call() throws Exception {
      push.requireRepository();
      new Push(push.options(), System.getenv()).initialize(priority, !noMassQuery);
      return 0;
    }
  }
}
