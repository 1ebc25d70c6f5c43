package dev.oranc.cli;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    description = {
      "Serve an HTTP Nix binary cache backed by OCI registries.",
      "",
      "Nix reaches a cache at http://HOST:PORT/REGISTRY/REPOSITORY..., e.g.",
      "  substituters = http://127.0.0.1:8080/ghcr.io/owner/cache",
      "Credentials for the registry come from each request (Basic auth, or an S3 access key id"
          + " that is base64(user:password)); requests without them are anonymous.",
    })
final class ServerCommand implements Callable<Integer> {

  @Option(
      names = {"-l", "--listen"},
      paramLabel = "ADDRESS:PORT",
      defaultValue = "[::]:8080",
      converter = Converters.ListenAddress.class,
      description = "Address and port to listen on. Default: ${DEFAULT-VALUE} (all addresses).")
  InetSocketAddress listen;

  @Option(
      names = {"-r", "--repository-parts"},
      paramLabel = "NUM",
      defaultValue = "2",
      converter = Bounded.AtLeastOne.class,
      description =
          "Path segments after the registry that name the repository: with 2,"
              + " /ghcr.io/owner/cache/KEY is key KEY in repository owner/cache. Default:"
              + " ${DEFAULT-VALUE}.")
  int repositoryParts;

  @Option(
      names = {"-m", "--max-retry"},
      paramLabel = "NUM",
      defaultValue = "3",
      converter = Bounded.Attempts.class,
      description =
          "Attempts of a failing registry request in all (1 = no retry). Default: ${DEFAULT-VALUE}.")
  int maxRetry;

  @Option(
      names = "--no-ssl",
      description = "Talk plain HTTP to registries instead of HTTPS (for a local registry).")
  boolean noSsl;

  @Option(
      names = {"-u", "--upstream"},
      paramLabel = "URL",
      converter = Converters.HttpUrl.class,
      description =
          "Upstream cache asked first for GET/HEAD (repeatable), e.g. https://cache.nixos.org: a"
              + " key it has is answered with a redirect to it, so nix copy --to skips paths it"
              + " already has. Default: none.")
  List<URI> upstreams = new ArrayList<>();

  @Option(
      names = {"-i", "--ignore-upstream"},
      paramLabel = "REGEX",
      defaultValue = "nix-cache-info",
      converter = Converters.Regex.class,
      description =
          "Keys matching this regular expression (anywhere in the key) are never looked up"
              + " upstream. Default: ${DEFAULT-VALUE}.")
  Pattern ignoreUpstream;

  @Option(
      names = "--upstream-anonymous",
      description =
          "Ask upstream caches for requests without credentials too (by default only requests"
              + " with credentials, i.e. uploads by nix copy --to, are redirected).")
  boolean upstreamAnonymous;

  @Mixin EncodingOptions encoding;

  @Override
  public Integer call() {
    throw new NotBuiltException("server", 5);
  }
}
