package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LeakCheck;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator does (docs/OPERATIONS.md), on a temporary prefix: {@code scripts/install},
 * {@code systemd-analyze verify} of the installed unit, the installed server started the way the
 * unit starts it (environment file, then {@code oranc server}) serving a narinfo, a clean stop on
 * SIGTERM, then {@code scripts/install --uninstall}.
 */
class InstallIT {

  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  @TempDir Path tmp;

  @Test
  void installServeStopUninstall() throws Exception {
    Path prefix = tmp.resolve("opt/oranc");
    Path bin = tmp.resolve("bin");
    Path units = tmp.resolve("systemd");
    Path config = tmp.resolve("etc/oranc");
    Commands.Run install =
        Commands.run(
            ROOT,
            List.of(
                "scripts/install",
                "--no-build",
                "--prefix",
                prefix.toString(),
                "--bin-dir",
                bin.toString(),
                "--systemd-dir",
                units.toString(),
                "--config-dir",
                config.toString()));
    assertEquals(0, install.exit(), install.out());
    assertTrue(Files.isExecutable(prefix.resolve("bin/oranc")));
    assertTrue(Files.isSymbolicLink(bin.resolve("oranc")));
    Path unit = units.resolve("oranc.service");
    String unitText = Files.readString(unit);
    assertTrue(unitText.contains("ExecStart=" + prefix.resolve("bin/oranc") + " server"), unitText);
    assertTrue(unitText.contains("EnvironmentFile=-" + config.resolve("oranc.env")), unitText);
    assertEquals(
        Files.readString(ROOT.resolve("systemd/oranc.env.example")),
        Files.readString(config.resolve("oranc.env")));

    Commands.Run verify = Commands.run(ROOT, List.of("systemd-analyze", "verify", unit.toString()));
    assertEquals(0, verify.exit(), "systemd-analyze verify:\n" + verify.out());
    assertEquals("", verify.out().strip(), "systemd-analyze verify has remarks:\n" + verify.out());

    // As the unit runs it: the environment file's variables, then the installed command on PATH.
    Files.writeString(
        config.resolve("oranc.env"),
        Files.readString(config.resolve("oranc.env"))
            + "ORANC_LISTEN=127.0.0.1:0\nORANC_NO_SSL=true\nORANC_ALLOW_REGISTRY=127.0.0.1\n");
    Process server =
        new ProcessBuilder(
                "bash",
                "-c",
                "set -a; . '"
                    + config.resolve("oranc.env")
                    + "'; set +a; exec '"
                    + bin.resolve("oranc")
                    + "' server")
            .start();
    server.getOutputStream().close();
    BufferedReader err =
        new BufferedReader(new InputStreamReader(server.getErrorStream(), StandardCharsets.UTF_8));
    try {
      int port = -1;
      StringBuilder log = new StringBuilder();
      String line;
      while (port < 0 && (line = err.readLine()) != null) {
        log.append(line).append('\n');
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          port = Integer.parseInt(m.group(1));
        }
      }
      assertTrue(port > 0, "no start-up line in:\n" + log);
      String url =
          "http://127.0.0.1:" + port + "/" + registry.get().address() + "/install/test/abc.narinfo";
      HttpClient http = HttpClient.newHttpClient();
      String narinfo = "StorePath: /nix/store/abc-x\nURL: nar/x.nar.zst\n";
      HttpResponse<String> put =
          http.send(
              HttpRequest.newBuilder(URI.create(url))
                  .header("Content-Type", "text/x-nix-narinfo")
                  .PUT(HttpRequest.BodyPublishers.ofString(narinfo))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, put.statusCode(), put.body());
      HttpResponse<String> get =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, get.statusCode(), get.body());
      assertEquals(narinfo, get.body());
      assertEquals("text/x-nix-narinfo", get.headers().firstValue("Content-Type").orElse(""));

      new ProcessBuilder("kill", "-TERM", Long.toString(server.pid())).start().waitFor();
      StringBuilder rest = new StringBuilder();
      while ((line = err.readLine()) != null) {
        rest.append(line).append('\n');
      }
      assertTrue(server.waitFor(30, TimeUnit.SECONDS), "no stop on SIGTERM");
      LeakCheck.verifyNoLeaksIn("installed oranc server", log + rest.toString());
      // The unit's SuccessExitStatus=143 counts the JVM's exit after SIGTERM as clean.
      assertTrue(
          server.exitValue() == 0 || server.exitValue() == 143,
          "exit " + server.exitValue() + "\n" + rest);
      assertTrue(
          rest.toString()
              .contains("GET /" + registry.get().address() + "/install/test/abc.narinfo 200"),
          rest.toString());
      assertFalse(rest.toString().contains("\tat "), rest.toString());
    } finally {
      server.destroyForcibly();
    }

    Commands.Run uninstall =
        Commands.run(
            ROOT, List.of("scripts/install", "--uninstall", "--prefix", prefix.toString()));
    assertEquals(0, uninstall.exit(), uninstall.out());
    assertFalse(Files.exists(prefix.resolve("bin/oranc.jar")));
    assertFalse(Files.exists(bin.resolve("oranc"), LinkOption.NOFOLLOW_LINKS));
    assertFalse(Files.exists(unit));
    assertTrue(Files.exists(config.resolve("oranc.env")), "the operator's settings are kept");
  }
}
