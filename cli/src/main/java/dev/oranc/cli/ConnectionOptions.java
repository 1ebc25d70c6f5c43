package dev.oranc.cli;

import dev.oranc.proxy.ServerConfig;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * {@code oranc server}'s client connections: threads, timeouts, how many at once, the largest
 * request head, and the drain on SIGTERM (not in the Rust tool).
 */
final class ConnectionOptions {

  @Option(
      names = "--threads",
      paramLabel = "NUM",
      defaultValue = "0",
      converter = Bounded.Count.class,
      description =
          "Event-loop threads serving clients and registries (0: one per core). Default:"
              + " ${DEFAULT-VALUE}.")
  int threads;

  @Option(
      names = "--idle-timeout",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = Converters.ServerDuration.class,
      description =
          "Close a connection on which the client sent or read nothing for this long while the"
              + " server waited on it (idle keep-alive, stalled headers or body, a download nobody"
              + " reads). Default: ${DEFAULT-VALUE}.")
  Duration idleTimeout;

  @Option(
      names = "--max-connections",
      paramLabel = "NUM",
      defaultValue = "8192",
      converter = Bounded.AtLeastOne.class,
      description =
          "Client connections open at once; one more is answered 503 and closed at once (logged at"
              + " warn, at most every 10 s). Keep it below the file descriptor limit. Default:"
              + " ${DEFAULT-VALUE}.")
  int maxConnections;

  @Option(
      names = "--max-streams-per-client",
      paramLabel = "NUM",
      defaultValue = "64",
      converter = Bounded.Count.class,
      description =
          "NAR downloads and uploads in flight at once from one client IP address; one more is"
              + " answered 503 with Retry-After (narinfos and misses are never refused). Behind a"
              + " reverse proxy every client has the proxy's address: raise it, or 0 for no limit."
              + " Default: ${DEFAULT-VALUE}.")
  int maxStreamsPerClient;

  @Option(
      names = "--max-request-line",
      paramLabel = "SIZE",
      defaultValue = "8KiB",
      converter = Converters.Size.class,
      description =
          "Longest request line (method, path, version) accepted; longer is a 414. Default:"
              + " ${DEFAULT-VALUE}.")
  long maxRequestLine;

  @Option(
      names = "--max-header-size",
      paramLabel = "SIZE",
      defaultValue = "16KiB",
      converter = Converters.Size.class,
      description =
          "Largest request header block accepted; larger is a 431. Default: ${DEFAULT-VALUE}.")
  long maxHeaderSize;

  @Option(
      names = "--shutdown-grace",
      paramLabel = "DURATION",
      defaultValue = "30s",
      converter = Converters.ServerDuration.class,
      description =
          "On SIGTERM, stop accepting and let requests in flight finish for up to this long."
              + " Default: ${DEFAULT-VALUE}.")
  Duration shutdownGrace;

  void applyTo(ServerConfig.Builder b) {
    FlagRange.bytes("--max-request-line", maxRequestLine, 256, 1L << 20);
    FlagRange.bytes("--max-header-size", maxHeaderSize, 1024, 1L << 20);
    b.threads(threads)
        .idleTimeout(idleTimeout)
        .shutdownGrace(shutdownGrace)
        .maxConnections(maxConnections)
        .maxStreamsPerClient(maxStreamsPerClient)
        .maxInitialLineLength((int) maxRequestLine)
        .maxHeaderSize((int) maxHeaderSize);
  }
}
