package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.tag.TagEncoding;
import dev.oranc.push.PushOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The server's flags from ORANC_* variables (for systemd's EnvironmentFile=); flags win. */
class EnvironmentDefaultsTest {

  private static ServerCommand parse(Map<String, String> env, String... args) {
    CommandLine commandLine = Main.newCommandLine(env);
    commandLine.parseArgs(args);
    return commandLine.getSubcommands().get("server").getCommand();
  }

  @Test
  void variablesSetTheServersFlags() {
    ServerCommand s =
        parse(
            Map.of(
                "ORANC_LISTEN", "127.0.0.1:9090",
                "ORANC_MAX_RETRY", "5",
                "ORANC_NO_SSL", "true",
                "ORANC_REPOSITORY_PARTS", "3",
                "ORANC_FALLBACK_ENCODINGS", "base32-dnssec"),
            "server");
    assertEquals("127.0.0.1:9090", s.listen.getHostString() + ":" + s.listen.getPort());
    assertEquals(5, s.registries.maxRetry.attempts());
    assertTrue(s.registries.noSsl);
    assertEquals(3, s.repositoryParts);
    assertEquals(List.of(TagEncoding.BASE32_DNSSEC), s.encoding.fallbackEncodings);
  }

  @Test
  void severalUpstreamsInOneVariable() {
    ServerCommand s =
        parse(Map.of("ORANC_UPSTREAM", "https://a.example https://b.example:8443/x"), "server");
    assertEquals(
        List.of(URI.create("https://a.example"), URI.create("https://b.example:8443/x")),
        s.upstream.upstreams);
    ServerCommand flags =
        parse(Map.of("ORANC_UPSTREAM", "https://a.example"), "server", "-u", "https://c.example");
    assertEquals(List.of(URI.create("https://c.example")), flags.upstream.upstreams);
  }

  @Test
  void theMultipartFlagsHaveTheirDefaultsAndTheirVariables() {
    ServerCommand d = parse(Map.of(), "server");
    assertEquals(
        Path.of(System.getProperty("java.io.tmpdir"), "oranc-multipart"),
        d.publish.multipartSpoolDir);
    assertEquals(1L << 30, d.publish.multipartSpoolSize);
    assertEquals(Duration.ofHours(1), d.publish.multipartExpiry);
    assertEquals(d.publish.multipartSpoolDir, d.config().multipartSpoolDir());
    ServerCommand s =
        parse(
            Map.of(
                "ORANC_MULTIPART_SPOOL_DIR", "/var/cache/oranc", "ORANC_MULTIPART_EXPIRY", "30m"),
            "server",
            "--multipart-spool-size",
            "256MiB");
    assertEquals(Path.of("/var/cache/oranc"), s.config().multipartSpoolDir());
    assertEquals(256L << 20, s.config().multipartSpoolBytes());
    assertEquals(Duration.ofMinutes(30), s.config().multipartExpiry());
  }

  @Test
  void aFlagWinsOverItsVariable() {
    ServerCommand s =
        parse(
            Map.of("ORANC_MAX_RETRY", "5", "ORANC_LISTEN", "127.0.0.1:9090"), "server", "-m", "2");
    assertEquals(2, s.registries.maxRetry.attempts());
    assertEquals("127.0.0.1:9090", s.listen.getHostString() + ":" + s.listen.getPort());
  }

  @Test
  void maxRetryTakesAttemptsOrARateLimitBudget() {
    ServerCommand d = parse(Map.of(), "server");
    assertEquals(Duration.ofSeconds(30), d.config().registry().maxRetryAfter());
    ServerCommand s = parse(Map.of("ORANC_MAX_RETRY", "2m"), "server");
    assertEquals(3, s.registries.maxRetry.attempts());
    assertEquals(Duration.ofMinutes(2), s.config().registry().maxRetryAfter());
    CommandLine push = Main.newCommandLine(Map.of());
    push.parseArgs("push", "--repository", "o/c", "-m", "15m");
    PushCommand p = push.getSubcommands().get("push").getCommand();
    assertEquals(Duration.ofMinutes(15), p.options().rateLimitWait());
    push = Main.newCommandLine(Map.of());
    push.parseArgs("push", "--repository", "o/c", "-m", "4");
    p = push.getSubcommands().get("push").getCommand();
    assertEquals(4, p.options().maxRetry());
    assertEquals(PushOptions.DEFAULT_RATE_LIMIT_WAIT, p.options().rateLimitWait());
    CommandLine.ParameterException e =
        Assertions.assertThrows(
            CommandLine.ParameterException.class,
            () -> Main.newCommandLine(Map.of()).parseArgs("server", "-m", "soon"));
    assertTrue(e.getMessage().contains("--max-retry"), e.getMessage());
    assertTrue(e.getMessage().contains("5m"), e.getMessage());
  }

  @Test
  void withoutVariablesTheDefaultsHold() {
    ServerCommand s = parse(Map.of(), "server");
    assertEquals(3, s.registries.maxRetry.attempts());
    assertEquals(8080, s.listen.getPort());
  }

  @Test
  void variableNamesFollowTheLongestFlagName() {
    CommandLine server = Main.newCommandLine(Map.of()).getSubcommands().get("server");
    assertEquals(
        "ORANC_MAX_RETRY", EnvironmentDefaults.variable(server.getCommandSpec().findOption("-m")));
    assertEquals(
        "ORANC_NO_SSL",
        EnvironmentDefaults.variable(server.getCommandSpec().findOption("--no-ssl")));
    assertEquals(
        "ORANC_UPSTREAM_ANONYMOUS",
        EnvironmentDefaults.variable(server.getCommandSpec().findOption("--upstream-anonymous")));
  }

  @Test
  void aBadVariableIsAUsageErrorNamingIt() {
    CommandLine commandLine = Main.newCommandLine(Map.of("ORANC_MAX_RETRY", "zero"));
    StringWriter err = new StringWriter();
    commandLine.setErr(new PrintWriter(err));
    commandLine.setOut(new PrintWriter(new StringWriter()));
    int exit = commandLine.execute("server");
    assertEquals(2, exit);
    assertEquals(1, err.toString().lines().count(), err.toString());
    assertTrue(err.toString().contains("--max-retry"), err.toString());
    assertTrue(err.toString().contains("ORANC_MAX_RETRY"), err.toString());
  }
}
