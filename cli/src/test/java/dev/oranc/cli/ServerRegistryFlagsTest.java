package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.net.HostPattern;
import dev.oranc.proxy.ServerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --allow-registry}, {@code --insecure-registry} and {@code --no-ssl} reach the server's
 * configuration.
 */
class ServerRegistryFlagsTest {

  private static ServerConfig config(Map<String, String> env, String... args) {
    CommandLine commandLine = Main.newCommandLine(env);
    commandLine.parseArgs(args);
    return ((ServerCommand) commandLine.getSubcommands().get("server").getCommand()).config();
  }

  @Test
  void withoutFlagsAnyPublicRegistryIsServedOverTls() {
    ServerConfig c = config(Map.of(), "server");
    assertEquals(List.of(), c.allowRegistries());
    assertTrue(c.serves("ghcr.io"));
    assertTrue(c.addressPolicy().enforced());
    assertFalse(c.addressPolicy().exempts("127.0.0.1", 5000));
    assertTrue(c.registry().tlsFor("127.0.0.1:5000"));
  }

  @Test
  void theFlagsReachTheConfiguration() {
    ServerConfig c =
        config(
            Map.of(),
            "server",
            "--allow-registry",
            "127.0.0.1:5000",
            "--allow-registry",
            "*.Example.com",
            "--insecure-registry",
            "127.0.0.1:5000");
    assertEquals(
        List.of(HostPattern.parse("127.0.0.1:5000"), HostPattern.parse("*.example.com")),
        c.allowRegistries());
    assertTrue(c.serves("127.0.0.1:5000"));
    assertTrue(c.serves("a.example.com"));
    assertFalse(c.serves("ghcr.io"));
    assertTrue(c.addressPolicy().exempts("127.0.0.1", 5000), "named explicitly: any address");
    assertFalse(
        c.addressPolicy().exempts("a.example.com", 443), "a wildcard: public addresses only");
    assertEquals(List.of(HostPattern.parse("127.0.0.1:5000")), c.registry().insecureRegistries());
    assertFalse(c.registry().tlsFor("127.0.0.1:5000"));
    assertTrue(c.registry().tlsFor("a.example.com"));
    assertTrue(c.registry().tls(), "--insecure-registry is not --no-ssl");
  }

  @Test
  void variablesTakeSeveralPatternsSeparatedBySpaces() {
    ServerConfig c =
        config(
            Map.of(
                "ORANC_ALLOW_REGISTRY",
                "ghcr.io 127.0.0.1:5000",
                "ORANC_INSECURE_REGISTRY",
                "127.0.0.1:5000"),
            "server");
    assertEquals(
        List.of(HostPattern.parse("ghcr.io"), HostPattern.parse("127.0.0.1:5000")),
        c.allowRegistries());
    assertFalse(c.registry().tlsFor("127.0.0.1:5000"));
  }

  @Test
  void noSslStillMeansPlainHttpToEveryRegistry() {
    ServerConfig c = config(Map.of(), "server", "--no-ssl");
    assertFalse(c.registry().tls());
    assertFalse(c.registry().tlsFor("ghcr.io"));
  }

  @Test
  void aBadPatternIsAOneLineUsageErrorNamingIt() {
    for (String[] args :
        List.of(
            new String[] {"server", "--allow-registry", "*"},
            new String[] {"server", "--insecure-registry", "ghcr.io:99999"})) {
      CommandLine commandLine = Main.newCommandLine(Map.of());
      StringWriter err = new StringWriter();
      commandLine.setErr(new PrintWriter(err));
      commandLine.setOut(new PrintWriter(new StringWriter()));
      assertEquals(2, commandLine.execute(args));
      assertEquals(1, err.toString().lines().count(), err.toString());
      assertTrue(err.toString().contains(args[1]), err.toString());
      assertTrue(err.toString().contains("registry pattern '" + args[2] + "'"), err.toString());
    }
  }
}
