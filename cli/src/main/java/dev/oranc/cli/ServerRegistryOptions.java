package dev.oranc.cli;

import dev.oranc.common.net.HostPattern;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.proxy.ServerConfig;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code oranc server}'s registry access: retries, TLS, and which registries it serves and talks
 * plain HTTP to. Push, pin, gc and check name one registry instead ({@link RegistryOptions}).
 */
final class ServerRegistryOptions {

  @Option(
      names = {"-m", "--max-retry"},
      paramLabel = "NUM|DURATION",
      defaultValue = "3",
      converter = Converters.ServerRetryBudget.class,
      description =
          "A number: attempts of a failing registry request in all (1 = no retry). A duration"
              + " (10s, 2m): how long one request may wait out the registry's rate limits (429)"
              + " before the client gets 503 with Retry-After; 30s when a number is given."
              + " Default: ${DEFAULT-VALUE}.")
  RetryBudget maxRetry;

  @Option(
      names = "--no-ssl",
      description =
          "Talk plain HTTP to every registry instead of HTTPS. Credentials and tokens then travel"
              + " in clear text to whichever registry a request names; for a local registry prefer"
              + " --insecure-registry.")
  boolean noSsl;

  @Option(
      names = "--allow-registry",
      paramLabel = "PATTERN",
      split = "\\s+",
      splitSynopsisLabel = " ",
      converter = Converters.RegistryPattern.class,
      description =
          "Serve only registries matching PATTERN (repeatable): HOST, HOST:PORT, *.DOMAIN or"
              + " [IPv6]:PORT, e.g. ghcr.io or 127.0.0.1:5000 (no port: any port). A request for"
              + " another registry, by path or ?registry=, is answered 403. An explicit HOST may"
              + " be on any address (loopback, private): that is how a local registry is served."
              + " Default: any registry whose addresses are public; the server never connects to"
              + " loopback, private, link-local or other internal addresses (registries, token"
              + " services, redirects) that no explicit PATTERN names.")
  List<HostPattern> allowRegistries = new ArrayList<>();

  @Option(
      names = "--insecure-registry",
      paramLabel = "PATTERN",
      split = "\\s+",
      splitSynopsisLabel = " ",
      converter = Converters.RegistryPattern.class,
      description =
          "Talk plain HTTP, not HTTPS, to registries matching PATTERN (repeatable; same form as"
              + " --allow-registry), e.g. a local registry at 127.0.0.1:5000. Other registries"
              + " keep TLS. Default: none.")
  List<HostPattern> insecureRegistries = new ArrayList<>();

  /** The registry client's config and the served registries; blobs go up as {@code upload} says. */
  void applyTo(ServerConfig.Builder b, UploadOptions upload) {
    b.registry(clientConfig(upload)).allowRegistries(allowRegistries);
  }

  private RegistryClientConfig clientConfig(UploadOptions upload) {
    int chunk = upload.chunkBytes();
    RegistryClientConfig.Builder b =
        RegistryClientConfig.builder()
            .tls(!noSsl)
            .insecureRegistries(insecureRegistries)
            .retryBudget(maxRetry)
            .uploadChunkBytes(chunk);
    int monolithic = RegistryClientConfig.builder().build().monolithicUploadBytes();
    return b.monolithicUploadBytes(chunk == 0 ? monolithic : Math.min(monolithic, chunk)).build();
  }
}
