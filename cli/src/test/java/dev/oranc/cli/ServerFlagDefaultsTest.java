package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.proxy.ServerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The server flags oranc added to the Rust tool's, against docs/SERVER.md: each default is the
 * documented value, written here as a literal (not read from the code, so that a default changed
 * without the docs fails here), and each flag reaches the server's configuration.
 */
class ServerFlagDefaultsTest {

  private static final long KIB = 1024;
  private static final long MIB = 1024 * KIB;
  private static final long GIB = 1024 * MIB;

  private static ServerConfig config(String... args) {
    CommandLine commandLine = Main.newCommandLine(Map.of());
    String[] all = new String[args.length + 1];
    all[0] = "server";
    System.arraycopy(args, 0, all, 1, args.length);
    commandLine.parseArgs(all);
    return ((ServerCommand) commandLine.getSubcommands().get("server").getCommand()).config();
  }

  /** The "default" column of docs/SERVER.md's flag table, flag by flag. */
  @Test
  void aServerWithoutFlagsRunsWithTheDocumentedDefaults() {
    ServerConfig c = config();
    assertEquals(List.of(), c.allowRegistries(), "--allow-registry: none");
    assertEquals(List.of(), c.registry().insecureRegistries(), "--insecure-registry: none");
    assertTrue(c.registry().tls(), "--no-ssl: off");
    assertEquals(0, c.threads(), "--threads: 0 (one per core)");
    assertEquals(Duration.ofSeconds(60), c.idleTimeout(), "--idle-timeout");
    assertEquals(8192, c.maxConnections(), "--max-connections");
    assertEquals(64, c.maxStreamsPerClient(), "--max-streams-per-client");
    assertEquals(8 * KIB, c.maxInitialLineLength(), "--max-request-line");
    assertEquals(16 * KIB, c.maxHeaderSize(), "--max-header-size");
    assertEquals(Duration.ofSeconds(30), c.shutdownGrace(), "--shutdown-grace");
    assertEquals(100_000, c.layerCacheEntries(), "--layer-cache-entries");
    assertEquals(Duration.ofMinutes(5), c.layerCacheTtl(), "--layer-cache-ttl");
    assertEquals(Duration.ofSeconds(5), c.layerCacheNegativeTtl(), "--layer-cache-negative-ttl");
    assertEquals(64 * MIB, c.blobCacheBytes(), "--blob-cache-size");
    assertEquals(64 * KIB, c.smallBlobBytes(), "--small-blob-size");
    assertEquals(16, c.prefetchConcurrency(), "--no-prefetch: prefetch on, 16 at once");
    assertEquals(4096, c.prefetchQueue(), "--prefetch-queue");
    assertEquals(Duration.ofSeconds(10), c.upstreamTimeout(), "--upstream-timeout");
    assertEquals(Duration.ofMinutes(10), c.upstreamCacheTtl(), "--upstream-cache-ttl");
    assertEquals(
        Duration.ofMinutes(1), c.upstreamCacheNegativeTtl(), "--upstream-cache-negative-ttl");
    assertEquals(
        Path.of(System.getProperty("java.io.tmpdir"), "oranc-multipart"),
        c.multipartSpoolDir(),
        "--multipart-spool-dir");
    assertEquals(GIB, c.multipartSpoolBytes(), "--multipart-spool-size");
    assertEquals(Duration.ofHours(1), c.multipartExpiry(), "--multipart-expiry");
    assertEquals(100, c.maxMultipartUploadsPerClient(), "--max-multipart-uploads-per-client");
    assertEquals(Duration.ofSeconds(60), c.maxAgeNarinfo(), "--max-age-narinfo");
    assertEquals(Duration.ZERO, c.maxAgeNotFound(), "--max-age-not-found");
    assertFalse(c.narRedirect(), "--nar-redirect: off");
    assertEquals(Duration.ofSeconds(60), c.narRedirectTtl(), "--nar-redirect-ttl");
    assertEquals(4, c.uploadSessionsAhead(), "--upload-sessions-ahead");
    assertEquals(1024, c.maxPendingPublishes(), "--max-pending-publishes");
  }

  /** The flags no other test sets reach the configuration, each with a value not its default. */
  @Test
  void theServerFlagsReachTheConfiguration() {
    ServerConfig c =
        config(
            "--repository-parts",
            "3",
            "--threads",
            "3",
            "--shutdown-grace",
            "7s",
            "--layer-cache-entries",
            "500",
            "--layer-cache-ttl",
            "2m",
            "--layer-cache-negative-ttl",
            "9s",
            "--blob-cache-size",
            "8MiB",
            "--small-blob-size",
            "16KiB",
            "--prefetch-queue",
            "100",
            "--upstream-timeout",
            "3s",
            "--upstream-cache-ttl",
            "20m",
            "--upstream-cache-negative-ttl",
            "2m",
            "--multipart-spool-dir",
            "/tmp/oranc-flags-test-spool",
            "--multipart-spool-size",
            "2GiB",
            "--multipart-expiry",
            "30m",
            "--nar-redirect",
            "--nar-redirect-ttl",
            "30s");
    assertEquals(3, c.repositoryParts());
    assertEquals(3, c.threads());
    assertEquals(Duration.ofSeconds(7), c.shutdownGrace());
    assertEquals(500, c.layerCacheEntries());
    assertEquals(Duration.ofMinutes(2), c.layerCacheTtl());
    assertEquals(Duration.ofSeconds(9), c.layerCacheNegativeTtl());
    assertEquals(8 * MIB, c.blobCacheBytes());
    assertEquals(16 * KIB, c.smallBlobBytes());
    assertEquals(100, c.prefetchQueue());
    assertEquals(Duration.ofSeconds(3), c.upstreamTimeout());
    assertEquals(Duration.ofMinutes(20), c.upstreamCacheTtl());
    assertEquals(Duration.ofMinutes(2), c.upstreamCacheNegativeTtl());
    assertEquals(Path.of("/tmp/oranc-flags-test-spool"), c.multipartSpoolDir());
    assertEquals(2 * GIB, c.multipartSpoolBytes());
    assertEquals(Duration.ofMinutes(30), c.multipartExpiry());
    assertTrue(c.narRedirect());
    assertEquals(Duration.ofSeconds(30), c.narRedirectTtl());
  }
}
