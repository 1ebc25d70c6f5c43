package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosted content is inert, in a real browser: an HTML page with a script, uploaded through oranc
 * with {@code Content-Type: text/html} into a real registry, is opened through oranc in headless
 * Chromium (Debian's {@code chromium}, which scripts/install-deps installs). The script would
 * change the page and ask a loopback listener for a URL; the page also names an image on that
 * listener. Through oranc ({@code Content-Security-Policy: default-src 'none'; sandbox}) none of it
 * happens. The same page served by the listener without those headers is the control: there the
 * script runs and the image is fetched, so the test can tell the two apart.
 *
 * <p>Chromium missing is a failure, not a skip.
 */
class HostedContentIT {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  @TempDir static Path tmp;

  private static TestServer oranc;
  private static HttpServer listener;
  private static final Queue<String> heard = new ConcurrentLinkedQueue<>();

  /** The paragraph once the script has run (the script's own text also says "script ran"). */
  private static final String RAN = "<p id=\"state\">script ran</p>";

  @BeforeAll
  static void start() throws IOException {
    oranc = TestServer.start();
    listener = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 16);
    listener.createContext(
        "/",
        exchange -> {
          String path = exchange.getRequestURI().getPath();
          heard.add(path);
          byte[] body =
              path.equals("/control.html")
                  ? page("control").getBytes(StandardCharsets.UTF_8)
                  : new byte[0];
          exchange
              .getResponseHeaders()
              .set("Content-Type", path.endsWith(".html") ? "text/html" : "image/gif");
          exchange.getResponseHeaders().set("Access-Control-Allow-Origin", "*");
          exchange.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    listener.start();
  }

  @AfterAll
  static void stop() {
    if (listener != null) {
      listener.stop(0);
    }
    if (oranc != null) {
      oranc.close();
    }
  }

  /**
   * A page whose script, if it runs, changes the title and text and asks the listener for a URL.
   */
  private static String page(String tag) {
    String base = "http://127.0.0.1:" + listener.getAddress().getPort();
    return "<!DOCTYPE html>\n<html><head><title>inert</title></head><body>\n"
        + "<p id=\"state\">static</p>\n"
        + "<img src=\""
        + base
        + "/img-"
        + tag
        + "\">\n"
        + "<script>\n"
        + "document.title = 'ran';\n"
        + "document.getElementById('state').textContent = 'script ran';\n"
        + "fetch('"
        + base
        + "/fetch-"
        + tag
        + "').catch(function () {});\n"
        + "</script>\n</body></html>\n";
  }

  @Test
  void anUploadedPageWithAScriptDoesNotRunItsScriptWhenOpenedThroughOranc() throws Exception {
    String path =
        "/"
            + registry.get().proxyAddress()
            + "/test/h"
            + UUID.randomUUID().toString().substring(0, 8)
            + "/site/page.html";
    HttpResponse<byte[]> put =
        oranc.put(
            path,
            page("oranc").getBytes(StandardCharsets.UTF_8),
            null,
            "Content-Type",
            "text/html");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    HttpResponse<byte[]> got = oranc.get(path, null);
    assertEquals(
        "text/html",
        got.headers().firstValue("Content-Type").orElse(null),
        "the uploader's type is kept");

    // The control: the same page without oranc's headers runs its script in this Chromium.
    String control =
        dumpDom("http://127.0.0.1:" + listener.getAddress().getPort() + "/control.html");
    assertTrue(
        control.contains(RAN) && control.contains("<title>ran</title>"),
        "the control page's script did not run, so this test could not see a script run:\n"
            + control);
    assertTrue(
        heard.contains("/img-control"), "the control page's image was not fetched: " + heard);

    String dom = dumpDom(oranc.uri(path).toString());
    assertFalse(dom.contains(RAN), "the script ran:\n" + dom);
    assertTrue(
        dom.contains("<p id=\"state\">static</p>"), "the page was not rendered at all:\n" + dom);
    assertTrue(dom.contains("<title>inert</title>"), dom);
    List<String> fromOrancPage = new ArrayList<>();
    for (String p : heard) {
      if (p.endsWith("-oranc")) {
        fromOrancPage.add(p);
      }
    }
    assertEquals(List.of(), fromOrancPage, "the page served by oranc reached the listener");
  }

  /** Chromium's DOM of {@code url} after load (and up to 3 s of the page's own timers). */
  private static String dumpDom(String url) throws Exception {
    Path profile = Files.createTempDirectory(tmp, "chromium");
    Path err = tmp.resolve("chromium-" + UUID.randomUUID() + ".log");
    List<String> command =
        List.of(
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + profile,
            "--virtual-time-budget=3000",
            "--dump-dom",
            url);
    Process p;
    try {
      p = new ProcessBuilder(command).redirectError(err.toFile()).start();
    } catch (IOException e) {
      throw new AssertionError(
          "chromium is not installed (Debian package chromium; scripts/install-deps"
              + " installs it): "
              + e.getMessage(),
          e);
    }
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish within 60 s: " + command);
    }
    assertEquals(0, p.exitValue(), "chromium failed:\n" + Files.readString(err));
    return new String(out, StandardCharsets.UTF_8);
  }
}
