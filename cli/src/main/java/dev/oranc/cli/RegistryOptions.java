package dev.oranc.cli;

import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.push.Push;
import dev.oranc.retention.CacheTarget;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code --registry}, {@code --repository}, {@code --no-ssl} and {@code --max-retry}: which cache a
 * command that talks to one registry repository works on (push, pin, gc, check), with the
 * credentials from {@code ORANC_USERNAME}/{@code ORANC_PASSWORD}.
 */
final class RegistryOptions {

  @Option(
      names = "--registry",
      paramLabel = "HOST[:PORT]",
      defaultValue = "ghcr.io",
      converter = Converters.Registry.class,
      description = "Registry of the cache. Default: ${DEFAULT-VALUE}.")
  String registry;

  @Option(
      names = "--repository",
      paramLabel = "NAME",
      converter = Converters.Repository.class,
      description = "Repository of the cache, e.g. owner/cache. Required.")
  String repository;

  @Option(
      names = {"-m", "--max-retry"},
      paramLabel = "NUM|DURATION",
      defaultValue = "3",
      converter = Converters.BatchRetryBudget.class,
      description =
          "A number: attempts of a failing registry request in all (1 = no retry). A duration"
              + " (90s, 5m, 1h): how long one request may wait out the registry's rate limits"
              + " (429) before it fails; 5m when a number is given. Default: ${DEFAULT-VALUE}.")
  RetryBudget maxRetry;

  @Option(
      names = "--no-ssl",
      description = "Talk plain HTTP to the registry instead of HTTPS (for a local registry).")
  boolean noSsl;

  /**
   * Checked here rather than with {@code required = true}: picocli would then refuse a subcommand's
   * {@code --help} for want of the parent's option.
   */
  /** The cache these options name, with the credentials of the environment. */
  CacheTarget open(CommandSpec spec, EncodingOptions encoding) {
    requireRepository(spec);
    return CacheTarget.open(
        registry,
        repository,
        !noSsl,
        maxRetry,
        encoding.codec(),
        Push.credentials(System.getenv()));
  }

  void requireRepository(CommandSpec spec) {
    if (repository == null) {
      throw new ParameterException(
          spec.commandLine(), "Missing required option: '--repository=NAME'");
    }
  }
}
