package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.proxy.ServerConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The server's resource limits as flags: their defaults are the server's own (so {@code --help}
 * tells the truth), values reach the server's configuration, and absurd ones are refused.
 */
class ServerLimitFlagsTest {

  private static ServerCommand parse(Map<String, String> env, String... args) {
    CommandLine commandLine = Main.newCommandLine(env);
    commandLine.parseArgs(args);
    return commandLine.getSubcommands().get("server").getCommand();
  }

  @Test
  void theDefaultsAreTheServersDefaults() {
    ServerConfig flags = parse(Map.of(), "server").config();
    ServerConfig built = ServerConfig.builder().build();
    assertEquals(built.maxConnections(), flags.maxConnections());
    assertEquals(built.maxStreamsPerClient(), flags.maxStreamsPerClient());
    assertEquals(built.maxInitialLineLength(), flags.maxInitialLineLength());
    assertEquals(built.maxHeaderSize(), flags.maxHeaderSize());
    assertEquals(built.idleTimeout(), flags.idleTimeout());
    assertEquals(built.maxAgeNarinfo(), flags.maxAgeNarinfo());
    assertEquals(built.maxAgeNotFound(), flags.maxAgeNotFound());
  }

  @Test
  void cacheLifetimesReachTheServerAndAreBounded() {
    ServerConfig c =
        parse(Map.of("ORANC_MAX_AGE_NOT_FOUND", "30s"), "server", "--max-age-narinfo", "5m")
            .config();
    assertEquals(Duration.ofMinutes(5), c.maxAgeNarinfo());
    assertEquals(Duration.ofSeconds(30), c.maxAgeNotFound());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of(), "server", "--max-age-narinfo", "1500ms").config());
    assertTrue(e.getMessage().startsWith("--max-age-narinfo: 1500ms"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of(), "server", "--max-age-not-found", "9000h").config());
    assertTrue(e.getMessage().startsWith("--max-age-not-found: "), e.getMessage());
  }

  @Test
  void flagsAndVariablesReachTheServer() {
    ServerConfig c =
        parse(
                Map.of("ORANC_MAX_STREAMS_PER_CLIENT", "0"),
                "server",
                "--max-connections",
                "100",
                "--max-request-line",
                "4KiB",
                "--max-header-size",
                "32KiB",
                "--idle-timeout",
                "15s")
            .config();
    assertEquals(100, c.maxConnections());
    assertEquals(0, c.maxStreamsPerClient());
    assertEquals(4096, c.maxInitialLineLength());
    assertEquals(32768, c.maxHeaderSize());
    assertEquals(Duration.ofSeconds(15), c.idleTimeout());
  }

  @Test
  void outOfRangeLimitsAreRefusedNamingTheFlag() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of(), "server", "--max-header-size", "10").config());
    assertTrue(e.getMessage().startsWith("--max-header-size: 10 bytes"), e.getMessage());
    assertThrows(
        CommandLine.ParameterException.class,
        () -> parse(Map.of(), "server", "--max-connections", "0"));
  }

  @Test
  void multipartUploadsPerClientHasTheServersDefaultReachesItAndIsBounded() {
    assertEquals(
        ServerConfig.builder().build().maxMultipartUploadsPerClient(),
        parse(Map.of(), "server").config().maxMultipartUploadsPerClient());
    assertEquals(100, ServerConfig.builder().build().maxMultipartUploadsPerClient());
    assertEquals(
        7,
        parse(Map.of(), "server", "--max-multipart-uploads-per-client", "7")
            .config()
            .maxMultipartUploadsPerClient());
    assertEquals(
        12,
        parse(Map.of("ORANC_MAX_MULTIPART_UPLOADS_PER_CLIENT", "12"), "server")
            .config()
            .maxMultipartUploadsPerClient());
    for (String bad : new String[] {"0", "10001", "-1", "lots"}) {
      CommandLine.ParameterException e =
          assertThrows(
              CommandLine.ParameterException.class,
              () -> parse(Map.of(), "server", "--max-multipart-uploads-per-client", bad),
              bad);
      assertTrue(
          e.getMessage().contains("--max-multipart-uploads-per-client")
              && e.getMessage().contains("from 1 to 10000"),
          e.getMessage());
    }
  }

  @Test
  void narRedirectIsOffByDefaultAndItsTtlIsBounded() {
    ServerConfig off = parse(Map.of(), "server").config();
    assertEquals(false, off.narRedirect());
    assertEquals(ServerConfig.builder().build().narRedirectTtl(), off.narRedirectTtl());
    ServerConfig on =
        parse(Map.of(), "server", "--nar-redirect", "--nar-redirect-ttl", "30s").config();
    assertEquals(true, on.narRedirect());
    assertEquals(Duration.ofSeconds(30), on.narRedirectTtl());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of(), "server", "--nar-redirect-ttl", "10m").config());
    assertTrue(e.getMessage().startsWith("--nar-redirect-ttl: 600000ms"), e.getMessage());
  }

  @Test
  void maxPendingPublishesIsAFlagFromZero() {
    assertEquals(1024, ServerConfig.builder().build().maxPendingPublishes());
    assertEquals(1024, parse(Map.of(), "server").config().maxPendingPublishes());
    assertEquals(
        0,
        parse(Map.of(), "server", "--max-pending-publishes", "0").config().maxPendingPublishes());
    for (String bad : new String[] {"-1", "65537", "lots"}) {
      CommandLine.ParameterException e =
          assertThrows(
              CommandLine.ParameterException.class,
              () -> parse(Map.of(), "server", "--max-pending-publishes", bad),
              bad);
      assertTrue(e.getMessage().contains("--max-pending-publishes"), e.getMessage());
    }
  }

  @Test
  void uploadSessionsAheadIsAFlagFromZeroToEight() {
    assertEquals(4, ServerConfig.builder().build().uploadSessionsAhead());
    assertEquals(4, parse(Map.of(), "server").config().uploadSessionsAhead());
    assertEquals(
        0,
        parse(Map.of(), "server", "--upload-sessions-ahead", "0").config().uploadSessionsAhead());
    assertEquals(
        8,
        parse(Map.of(), "server", "--upload-sessions-ahead", "8").config().uploadSessionsAhead());
    for (String bad : new String[] {"-1", "9", "many"}) {
      CommandLine.ParameterException e =
          assertThrows(
              CommandLine.ParameterException.class,
              () -> parse(Map.of(), "server", "--upload-sessions-ahead", bad),
              bad);
      assertTrue(e.getMessage().contains("--upload-sessions-ahead"), e.getMessage());
    }
  }
}
