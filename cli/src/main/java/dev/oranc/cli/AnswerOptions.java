package dev.oranc.cli;

import dev.oranc.common.error.ConfigCheck;
import dev.oranc.proxy.ServerConfig;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * {@code oranc server}'s answers as a cache in front sees them: how long it may keep them
 * (Cache-Control) and NAR GETs answered with a redirect to storage (see docs/SERVER.md).
 */
final class AnswerOptions {

  @Option(
      names = "--max-age-narinfo",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = Converters.ServerDuration.class,
      description =
          "How long a cache in front (nginx proxy_cache, a CDN) may keep an anonymous answer for a"
              + " narinfo, nix-cache-info or any key outside nar/ (Cache-Control: public, max-age)."
              + " NARs are immutable (a year); answers to requests with credentials are private;"
              + " 0: never stored. Default: ${DEFAULT-VALUE}.")
  Duration maxAgeNarinfo;

  @Option(
      names = "--max-age-not-found",
      paramLabel = "DURATION",
      defaultValue = "0s",
      converter = Converters.ServerDuration.class,
      description =
          "How long a cache in front may keep an anonymous 404 (0: never stored; a stored 404 hides"
              + " a path pushed since from everyone behind the cache). Default: ${DEFAULT-VALUE}.")
  Duration maxAgeNotFound;

  @Option(
      names = "--nar-redirect",
      description =
          "Answer a NAR's GET with 307 to where the registry keeps its blob (ghcr.io: a presigned"
              + " storage URL), fetched with the request's own credentials, so the NAR's bytes go"
              + " from storage to the client, not through this server. A registry that serves the"
              + " bytes itself is relayed as without it. HEAD, Range GETs and S3-signed requests"
              + " are answered as without it. Off by default.")
  boolean narRedirect;

  @Option(
      names = "--nar-redirect-ttl",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = Converters.ServerDuration.class,
      description =
          "With --nar-redirect: how long a storage URL that does not say when it expires is handed"
              + " out again to the same credentials (a URL that says is kept for half its remaining"
              + " life, at most 5m). At most 5m. Default: ${DEFAULT-VALUE}.")
  Duration narRedirectTtl;

  void applyTo(ServerConfig.Builder b) {
    requireMaxAge("--max-age-narinfo", maxAgeNarinfo);
    requireMaxAge("--max-age-not-found", maxAgeNotFound);
    ConfigCheck.require(
        !narRedirectTtl.isZero()
            && !narRedirectTtl.isNegative()
            && narRedirectTtl.compareTo(Duration.ofMinutes(5)) <= 0,
        "--nar-redirect-ttl",
        narRedirectTtl.toMillis() + "ms",
        "more than 0, at most 5m");
    b.maxAgeNarinfo(maxAgeNarinfo)
        .maxAgeNotFound(maxAgeNotFound)
        .narRedirect(narRedirect)
        .narRedirectTtl(narRedirectTtl);
  }

  private static void requireMaxAge(String flag, Duration value) {
    ConfigCheck.require(
        value.compareTo(Duration.ofDays(365)) <= 0 && value.toMillis() % 1000 == 0,
        flag,
        value.toMillis() + "ms",
        "whole seconds, at most 365 days");
  }
}
