package dev.oranc.cli;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.RetentionException;
import dev.oranc.retention.check.CacheCheck;
import dev.oranc.retention.scan.CacheScan;
import dev.oranc.retention.scan.CacheScanner;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    description = {
      "Check the cache's consistency: every narinfo's NAR is there with the size and digest the"
          + " narinfo says, every reference has a narinfo, every realisation names a narinfo, and"
          + " (with --trusted-public-key) every narinfo has a signature by a trusted key.",
      "Prints the problems on standard output, one per line (a path referenced by many narinfos but"
          + " without a narinfo is one line), and a summary on standard error.",
      "  oranc check --repository owner/cache --trusted-public-key cache-1:...",
    },
    footer = {
      "",
      "Environment:",
      "  ORANC_USERNAME, ORANC_PASSWORD  registry credentials (both, or anonymous)",
      "Exit status: 0 when there is no problem, 1 when there is any.",
    })
final class CheckCommand implements Callable<Integer> {

  @Mixin RegistryOptions target;

  @Option(
      names = "--trusted-public-key",
      paramLabel = "KEY",
      converter = KeyConverter.class,
      description =
          "A public key (name:base64, as 'nix key convert-secret-to-public' prints it; repeatable):"
              + " every narinfo must carry a signature one of them verifies. Default: signatures"
              + " are not checked.")
  List<PublicKey> trustedKeys = new ArrayList<>();

  @Option(
      names = "--allow-missing-references",
      description =
          "Paths that narinfos reference but that have no narinfo here are fine (counted, not"
              + " problems): for a cache that relies on another one for them, as push skips paths"
              + " signed by an excluded key (--excluded-signing-key-pattern, cache.nixos.org's by"
              + " default). Default: each such path is a problem.")
  boolean allowMissingReferences;

  @Option(
      names = {"-p", "--parallel"},
      paramLabel = "NUM",
      defaultValue = "8",
      converter = Bounded.AtLeastOne.class,
      description = "Manifests and narinfos read at the same time. Default: ${DEFAULT-VALUE}.")
  int parallel;

  @Mixin EncodingOptions encoding;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    CacheCheck.Result result;
    CacheScan scan;
    try (CacheTarget cache = target.open(spec, encoding)) {
      scan = new CacheScanner(cache, parallel, trustedKeys).scan();
      result = CacheCheck.check(scan);
    } catch (RetentionException e) {
      return PinCommand.fail(spec, e);
    }
    List<String> problems = result.lines(allowMissingReferences);
    PrintWriter out = spec.commandLine().getOut();
    problems.forEach(out::println);
    out.flush();
    PrintWriter err = spec.commandLine().getErr();
    String missing =
        result.missingReferences().isEmpty()
            ? ""
            : "; "
                + result.missingReferences().size()
                + (result.missingReferences().size() == 1
                    ? " referenced path has"
                    : " referenced paths have")
                + " no narinfo here (referenced by "
                + result.referrers()
                + " narinfos"
                + (allowMissingReferences ? ", allowed" : "")
                + ")";
    err.println(
        scan.keys().size()
            + " keys, "
            + scan.narinfos().size()
            + " narinfos checked: "
            + (problems.isEmpty()
                ? "no problems"
                : problems.size() + (problems.size() == 1 ? " problem" : " problems"))
            + missing);
    err.flush();
    return problems.isEmpty() ? 0 : ExecutionErrors.EXIT_FAILURE;
  }

  static final class KeyConverter implements ITypeConverter<PublicKey> {
    @Override
    public PublicKey convert(String value) {
      try {
        return PublicKey.parse(value);
      } catch (FormatException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
