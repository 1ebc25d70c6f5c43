package dev.oranc.cli;

import dev.oranc.push.Push;
import dev.oranc.push.progress.ProgressReporter;
import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.RetentionException;
import dev.oranc.retention.gc.GarbageCollector;
import dev.oranc.retention.gc.GcOptions;
import dev.oranc.retention.gc.GcSummary;
import dev.oranc.retention.github.GithubDeleter;
import dev.oranc.retention.github.GithubPackages;
import java.io.PrintWriter;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

@Command(
    name = "gc",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    description = {
      "Delete what the cache no longer needs, never breaking a closure.",
      "",
      "Kept: the closures of all pinned paths ('oranc pin'), and every narinfo written within"
          + " --keep-days with its closure (closures from the narinfos' References in the"
          + " registry); a NAR while a kept narinfo names it; realisations, listings and debuginfo"
          + " with what they describe; logs by age; nix-cache-info and pins always. Nothing"
          + " written within --grace is deleted. A narinfo is deleted only after every narinfo"
          + " that references it, a NAR only after every narinfo naming it, so the cache is"
          + " consistent at every instant; a stopped run is finished by the next one.",
      "  oranc gc --repository owner/cache --keep-days 30",
      "The registry must allow deletes (the CNCF registry: storage.delete.enabled); on ghcr.io,"
          + " which refuses them, package versions are deleted through GitHub's API (--backend)."
          + " The space comes back with the registry's own garbage collection.",
    },
    footer = {
      "",
      "Environment:",
      "  ORANC_USERNAME, ORANC_PASSWORD  registry credentials (both, or anonymous)",
      "Exit status: 0 when everything to delete was deleted, 1 otherwise.",
    })
final class GcCommand implements Callable<Integer> {

  enum Undated {
    keep,
    delete
  }

  enum Backend {
    auto,
    oci,
    github
  }

  @Mixin RegistryOptions target;

  @Option(
      names = "--keep-days",
      paramLabel = "N",
      defaultValue = "30",
      converter = NonNegative.class,
      description =
          "Keep every narinfo written within N days, with its closure. Default: ${DEFAULT-VALUE}.")
  int keepDays;

  @Option(
      names = "--grace",
      paramLabel = "DURATION",
      defaultValue = "1h",
      converter = DurationConverter.class,
      description =
          "Delete nothing written less than this long ago (e.g. 0s, 90m, 2h, 1d), so a push or"
              + " nix copy running meanwhile loses nothing. Default: ${DEFAULT-VALUE}.")
  Duration grace;

  @Option(
      names = "--undated",
      paramLabel = "keep|delete",
      defaultValue = "keep",
      description =
          "Keys without a written time (from the Rust oranc or older versions): keep them, or"
              + " judge them as old. Default: ${DEFAULT-VALUE}.")
  Undated undated;

  @Option(
      names = "--dry-run",
      description = "Show what would be deleted (counts, bytes, some keys); delete nothing.")
  boolean dryRun;

  @Option(
      names = {"-p", "--parallel"},
      paramLabel = "NUM",
      defaultValue = "8",
      converter = Bounded.AtLeastOne.class,
      description =
          "Manifests read, and deletes sent, at the same time. Default: ${DEFAULT-VALUE}.")
  int parallel;

  @Option(
      names = "--max-deletes-per-minute",
      paramLabel = "NUM",
      defaultValue = "" + GcOptions.DEFAULT_MAX_DELETES_PER_MINUTE,
      converter = NonNegative.class,
      description =
          "Spread deletes to at most this many a minute (ghcr.io-like API limits); 0 for no limit."
              + " Default: ${DEFAULT-VALUE}.")
  int maxDeletesPerMinute;

  @Option(
      names = "--json",
      description = "Print the summary as one JSON object on standard output.")
  boolean json;

  @Option(
      names = "--backend",
      paramLabel = "auto|oci|github",
      defaultValue = "auto",
      description =
          "How keys are deleted: oci (DELETE /v2/<name>/manifests/<digest>: the CNCF registry,"
              + " Harbor, Zot, GitLab), github (package versions through GitHub's REST API, as"
              + " ghcr.io refuses OCI deletes; ORANC_PASSWORD must be a token with read:packages"
              + " and delete:packages), auto (github for ghcr.io, else oci). Default:"
              + " ${DEFAULT-VALUE}.")
  Backend backend;

  @Option(
      names = "--github-api",
      paramLabel = "URL",
      defaultValue = "https://api.github.com",
      converter = Converters.HttpUrl.class,
      description = "GitHub's REST API, for --backend github. Default: ${DEFAULT-VALUE}.")
  URI githubApi;

  @Mixin EncodingOptions encoding;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    GcOptions options =
        new GcOptions(
            Duration.ofDays(keepDays),
            grace,
            undated == Undated.delete,
            dryRun,
            parallel,
            maxDeletesPerMinute);
    PrintWriter err = spec.commandLine().getErr();
    GcSummary summary;
    try (CacheTarget cache = target.open(spec, encoding)) {
      GarbageCollector gc = new GarbageCollector(cache, options, Clock.systemUTC());
      boolean github =
          backend == Backend.github
              || (backend == Backend.auto && target.registry.equals("ghcr.io"));
      if (github && githubApi.getScheme().equalsIgnoreCase("http") && !target.noSsl) {
        throw new CommandLine.ParameterException(
            spec.commandLine(),
            "--github-api "
                + githubApi
                + " would send the token unencrypted: use https (or --no-ssl"
                + " for a local stand-in)");
      }
      if (github && !dryRun) {
        gc.deleter(
            new GithubDeleter(
                new GithubPackages(
                    GithubPackages.newHttpClient(),
                    githubApi,
                    target.repository,
                    System.getenv(Push.PASSWORD_VARIABLE))));
      }
      ScheduledExecutorService line = ProgressReporter.stderrIsTerminal() ? progressLine(gc) : null;
      try {
        summary = gc.run();
      } finally {
        if (line != null) {
          line.shutdownNow();
          System.err.print("\r\033[K");
          System.err.flush();
        }
      }
    } catch (RetentionException e) {
      return PinCommand.fail(spec, e);
    }
    if (json) {
      PrintWriter out = spec.commandLine().getOut();
      out.println(summary.toJson());
      out.flush();
    } else {
      summary.lines().forEach(err::println);
    }
    err.flush();
    return summary.succeeded() ? 0 : ExecutionErrors.EXIT_FAILURE;
  }

  private static ScheduledExecutorService progressLine(GarbageCollector gc) {
    ScheduledExecutorService s =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "oranc-gc-progress");
              t.setDaemon(true);
              return t;
            });
    s.scheduleAtFixedRate(
        () -> {
          System.err.print("\r\033[K" + gc.progress());
          System.err.flush();
        },
        250,
        250,
        TimeUnit.MILLISECONDS);
    return s;
  }

  static final class NonNegative extends Bounded {
    NonNegative() {
      super(0, 1_000_000);
    }
  }

  /** {@code 90s}, {@code 30m}, {@code 1h}, {@code 2d}, {@code 0s}, or ISO-8601 ({@code PT1H}). */
  static final class DurationConverter implements ITypeConverter<Duration> {
    private static final Pattern SHORT = Pattern.compile("(\\d{1,9})\\s*(s|m|h|d)");

    @Override
    public Duration convert(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      Matcher m = SHORT.matcher(v);
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
      }
      try {
        Duration d = Duration.parse(value.trim());
        if (!d.isNegative()) {
          return d;
        }
      } catch (DateTimeParseException e) {
        // reported below
      }
      throw new TypeConversionException(
          "'" + value + "' is not a duration (expected e.g. 0s, 90m, 1h, 2d, or PT1H)");
    }
  }
}
