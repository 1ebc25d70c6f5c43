package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The environment file of docs/OPERATIONS.md's "A public instance", read from the document and run
 * as written (only the listening port is made free): the launcher starts with it, serves its health
 * check, and refuses a registry the file does not name — by path and by {@code ?registry=} — with a
 * 403 naming the flag, before any connection is made. The registry the requests name is a loopback
 * socket that records whether anything connected; no request leaves loopback (the allowed registry,
 * ghcr.io, is never asked for).
 */
class PublicInstanceIT {

  private static final String LAUNCHER = System.getProperty("oranc.launcher", "target/oranc");
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

  /** The {@code sh} block of the "A public instance" section, unindented, as NAME=VALUE pairs. */
  static Map<String, String> documentedEnvironment() throws Exception {
    String doc = Files.readString(ROOT.resolve("docs/OPERATIONS.md"));
    int section = doc.indexOf("\n## A public instance\n");
    assertTrue(section >= 0, "docs/OPERATIONS.md has no 'A public instance' section");
    int start = doc.indexOf("```sh\n", section);
    int end = doc.indexOf("```", start + 6);
    assertTrue(start >= 0 && end > start, "the section has no sh block");
    Map<String, String> env = new LinkedHashMap<>();
    for (String line : doc.substring(start + 6, end).split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      int eq = l.indexOf('=');
      assertTrue(eq > 0, "not NAME=VALUE: " + l);
      env.put(l.substring(0, eq), l.substring(eq + 1));
    }
    return env;
  }

  @Test
  void theDocumentedEnvironmentServesOnlyTheNamedRegistry() throws Exception {
    Map<String, String> documented = documentedEnvironment();
    assertEquals("ghcr.io", documented.get("ORANC_ALLOW_REGISTRY"), documented.toString());
    assertTrue(documented.get("ORANC_LISTEN").startsWith("127.0.0.1:"), documented.toString());

    try (ServerSocketChannel registry = ServerSocketChannel.open()) {
      registry.bind(new InetSocketAddress("127.0.0.1", 0));
      registry.configureBlocking(false);
      int registryPort = registry.socket().getLocalPort();

      ProcessBuilder pb = new ProcessBuilder(LAUNCHER, "server");
      pb.environment().keySet().removeIf(k -> k.startsWith("ORANC_"));
      pb.environment().putAll(documented);
      pb.environment().put("ORANC_LISTEN", "127.0.0.1:0"); // only the port differs from the doc
      Process p = pb.start();
      p.getOutputStream().close();
      BufferedReader err =
          new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
      try {
        int port = -1;
        String line;
        StringBuilder log = new StringBuilder();
        while (port < 0 && (line = err.readLine()) != null) {
          log.append(line).append('\n');
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            port = Integer.parseInt(m.group(1));
          }
        }
        assertTrue(port > 0, "no startup line in:\n" + log);
        assertTrue(
            log.toString().contains("ghcr.io"),
            "the start-up line names the registries served:\n" + log);

        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String base = "http://127.0.0.1:" + port;
        HttpResponse<String> health = get(http, base + "/-/health");
        assertEquals(200, health.statusCode());

        HttpResponse<String> byPath =
            get(http, base + "/127.0.0.1:" + registryPort + "/owner/cache/nix-cache-info");
        assertEquals(403, byPath.statusCode(), byPath.body());
        assertTrue(byPath.body().contains("--allow-registry"), byPath.body());

        HttpResponse<String> byQuery =
            get(
                http,
                base + "/ghcr.io/owner/cache/nix-cache-info?registry=127.0.0.1:" + registryPort);
        assertEquals(403, byQuery.statusCode(), byQuery.body());
        assertTrue(byQuery.body().contains("--allow-registry"), byQuery.body());

        // The refusals came before any connection: nothing ever reached the would-be registry.
        assertNull(registry.accept(), "the server connected to a registry it does not serve");
      } finally {
        p.destroy();
        p.waitFor(30, TimeUnit.SECONDS);
        p.destroyForcibly();
      }
    }
  }

  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
