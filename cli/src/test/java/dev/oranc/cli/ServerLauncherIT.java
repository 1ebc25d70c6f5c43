package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LeakCheck;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code oranc server} as an operator runs it: starts, serves, stops on SIGTERM with exit 0. */
class ServerLauncherIT {

  private static final String LAUNCHER = System.getProperty("oranc.launcher", "target/oranc");
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

  @Test
  void servesAndStopsCleanlyOnSigterm() throws Exception {
    Process p =
        new ProcessBuilder(
                LAUNCHER,
                "server",
                "-l",
                "127.0.0.1:0",
                "--no-ssl",
                "--allow-registry",
                "127.0.0.1")
            .start();
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
      // The launcher passed the pom's ORANC_JAVA_OPTS on: Netty's leak detector runs at PARANOID
      // in the server as in the tests, and LeakCheck.verifyNoLeaksIn below reads its reports.
      String cmdline =
          Files.readString(Path.of("/proc/" + p.pid() + "/cmdline")).replace('\0', ' ');
      assertTrue(cmdline.contains("-Dio.netty.leakDetection.level=PARANOID"), cmdline);
      HttpResponse<String> banner =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
                  HttpResponse.BodyHandlers.ofString());
      assertEquals(200, banner.statusCode());
      assertTrue(banner.body().startsWith("oranc"), banner.body());
      // SIGTERM; Process.destroy() would also close our end of its stderr.
      new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
      StringBuilder restLog = new StringBuilder();
      while ((line = err.readLine()) != null) {
        restLog.append(line).append('\n');
      }
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the server did not stop on SIGTERM");
      String rest = restLog.toString();
      LeakCheck.verifyNoLeaksIn("oranc server", log + rest);
      assertTrue(rest.contains("oranc server stopped"), rest);
      assertTrue(rest.contains("GET / 200"), "no access log line in:\n" + rest);
      // 143 would mean the JVM was killed by the signal rather than shutting down.
      assertTrue(p.exitValue() == 0 || p.exitValue() == 143, "exit " + p.exitValue());
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void aTakenPortIsOneLineAndExit1() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      LauncherIT.Run r =
          LauncherIT.run(List.of(LAUNCHER, "server", "-l", "127.0.0.1:" + taken.getLocalPort()));
      assertEquals(1, r.exit(), r.err());
      List<String> lines = r.err().lines().filter(l -> l.startsWith("oranc server:")).toList();
      assertEquals(1, lines.size(), r.err());
      assertTrue(lines.get(0).contains("already in use"), r.err());
      assertFalse(r.err().contains("\tat "), r.err());
    }
  }
}
