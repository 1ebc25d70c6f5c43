package dev.oranc.cli;

import ch.qos.logback.classic.LoggerContext;
import dev.oranc.proxy.OrancServer;
import dev.oranc.proxy.ServerConfig;
import dev.oranc.proxy.ServerStartException;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

  @Mixin ServerRegistryOptions registries;

  @Mixin UpstreamOptions upstream;

  @Mixin UploadOptions upload;

  @Mixin EncodingOptions encoding;

  // --- server-specific: limits and caches (not in the Rust tool) -------------------------------

  @Mixin ConnectionOptions connections;

  @Mixin CacheOptions caches;

  @Mixin PublishOptions publish;

  @Mixin AnswerOptions answers;

  @Spec CommandSpec spec;

  /**
   * The options as the server's config. The groups that check ranges go first, in the order the
   * checks have always run, so that of two bad flags the same one is reported.
   */
  ServerConfig config() {
    ServerConfig.Builder b = ServerConfig.builder();
    caches.applyTo(b);
    connections.applyTo(b);
    answers.applyTo(b);
    b.listen(listen).repositoryParts(repositoryParts).codec(encoding.codec());
    registries.applyTo(b, upload);
    upstream.applyTo(b);
    publish.applyTo(b);
    return b.build();
  }

  @Override
  public Integer call() throws InterruptedException {
    ServerConfig config = config();
    OrancServer server;
    try {
      server = OrancServer.start(config);
    } catch (ServerStartException e) {
      spec.commandLine().getErr().println("oranc server: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return ExecutionErrors.EXIT_FAILURE;
    }
    // SIGTERM and SIGINT run shutdown hooks: drain, then exit 0.
    Thread hook =
        new Thread(
            () -> {
              server.close();
              // Last: write out the access log's queue (logback.xml makes it asynchronous).
              ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
            },
            "oranc-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    server.awaitClose();
    return 0;
  }
}
