package dev.oranc.cli;

import dev.oranc.proxy.ServerConfig;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/**
 * {@code oranc server}'s upstream caches: which are asked, for which keys and requests. How long
 * their answers are trusted is in {@link CacheOptions}.
 */
final class UpstreamOptions {

  @Option(
      names = {"-u", "--upstream"},
      paramLabel = "URL",
      // Spaces separate several in one value: ORANC_UPSTREAM="https://a https://b".
      split = "\\s+",
      splitSynopsisLabel = " ",
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

  void applyTo(ServerConfig.Builder b) {
    b.upstreams(upstreams).ignoreUpstream(ignoreUpstream).upstreamAnonymous(upstreamAnonymous);
  }
}
