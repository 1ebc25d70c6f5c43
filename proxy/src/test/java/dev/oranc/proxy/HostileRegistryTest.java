package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Digest;
import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.LogCapture;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A registry (or whatever a path names) that answers to hurt: every request is still answered,
 * promptly, with our own words, and nothing it sent reaches the client.
 *
 * <ul>
 *   <li>Manifests whose content type or encoding annotation holds CR/LF, a control character,
 *       non-ASCII or 5,000 characters: Netty refused the header, the exception was lost, and the
 *       client waited for ever, with no access-log line and no idle timeout. Now each is a 502
 *       naming the annotation, 50 at once, each within the client's 5 s deadline, with an
 *       access-log line each, every connection closed and no stream counted afterwards.
 *   <li>A port that answers with an SSH banner, a 500 with the registry's own error text, a blob
 *       whose Content-Length is not the manifest's size, a small blob of other content: the client
 *       gets the status and a phrase of ours; the banner, the text, the size, the digest are in the
 *       log only.
 * </ul>
 */
class HostileRegistryTest {

  private static final int CLIENTS = 50;
  private static final int DEADLINE_MILLIS = 5000;
  private static final String MARKER = "HOSTILE-MARKER-7f3a";

  private FakeRegistry fake;
  private TestServer server;
  private LogCapture logs;

  @BeforeEach
  void captureLogs() {
    logs = LogCapture.of("dev.oranc");
  }

  @AfterEach
  void close() {
    logs.close();
    if (server != null) {
      server.close();
    }
    if (fake != null) {
      fake.close();
    }
  }

  private void start(FakeRegistry.ByTarget behaviour) {
    fake = behaviour == null ? null : FakeRegistry.byTarget(behaviour);
    server =
        TestServer.start(
            b -> {},
            registry ->
                registry
                    .readTimeout(Duration.ofSeconds(2))
                    .backoff(Duration.ofMillis(10), Duration.ofMillis(20)));
  }

  /** One manifest per hostile value, for each of the two annotations that become headers. */
  private static final List<String[]> CASES = new ArrayList<>();

  static {
    List<String> values =
        List.of(
            "text/html\\r\\nX-Injected: " + MARKER,
            "text/html\\n" + MARKER,
            "a\\u0000" + MARKER,
            "\\u001b[31m" + MARKER,
            "t\\u00e9xt/" + MARKER,
            MARKER + "x".repeat(5000));
    for (String annotation :
        List.of(ImageLayout.CONTENT_TYPE_ANNOTATION, ImageLayout.CONTENT_ENCODING_ANNOTATION)) {
      for (String v : values) {
        CASES.add(new String[] {annotation, v});
      }
    }
  }

  /**
   * Blobs a registry would serve: a narinfo-sized one (cached whole) and a NAR-sized one (relayed).
   */
  private static final byte[] SMALL = new byte[100];

  private static final byte[] LARGE = new byte[1 << 20];

  /**
   * A manifest with one layer, {@code blob}, whose {@code annotation} is {@code jsonValue}
   * (JSON-escaped already). The blob is served too, so that a server that did not check the
   * annotations would get as far as writing them as headers.
   */
  private static String manifest(byte[] blob, String annotation, String jsonValue) {
    String annotations =
        annotation.equals(ImageLayout.CONTENT_TYPE_ANNOTATION)
            ? "\"" + annotation + "\":\"" + jsonValue + "\""
            : "\""
                + ImageLayout.CONTENT_TYPE_ANNOTATION
                + "\":\"application/x-nix-nar\",\""
                + annotation
                + "\":\""
                + jsonValue
                + "\"";
    return "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
               + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:"
        + "a".repeat(64)
        + "\",\"size\":2},\"layers\":[{\"mediaType\":\"application/octet-stream\","
        + "\"digest\":\""
        + Digest.sha256(blob)
        + "\",\"size\":"
        + blob.length
        + ",\"annotations\":{"
        + annotations
        + "}}]}";
  }

  private static final Pattern CLIENT_KEY = Pattern.compile("k(\\d+)");

  @Test
  void manifestsWhoseHeaderAnnotationsCannotBeHeadersAreAll502NamingTheAnnotation()
      throws Exception {
    start(
        (method, uri, reply) -> {
          Matcher m = CLIENT_KEY.matcher(uri);
          if (uri.contains("/blobs/")) {
            reply.send(
                200,
                "application/octet-stream",
                uri.contains(Digest.sha256(SMALL).hex()) ? SMALL : LARGE);
            return;
          }
          if (!uri.contains("/manifests/") || !m.find()) {
            reply.send(404, "{}");
            return;
          }
          String[] c = CASES.get(Integer.parseInt(m.group(1)) % CASES.size());
          byte[] blob = Integer.parseInt(m.group(1)) % 2 == 0 ? SMALL : LARGE;
          reply.send(
              200,
              FakeRegistry.OCI_MANIFEST,
              manifest(blob, c[0], c[1]).getBytes(StandardCharsets.UTF_8));
        });
    int baseline = server.server.metrics().connections().get();
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<RawHttp.Response>> answers = new ArrayList<>();
    List<RawHttp> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < CLIENTS; i++) {
        RawHttp c = new RawHttp(server.port(), DEADLINE_MILLIS);
        sockets.add(c);
        String key = i % 2 == 0 ? "k" + i + ".narinfo" : "nar/k" + i + ".nar";
        answers.add(
            pool.submit(
                () -> {
                  go.await();
                  c.write(
                      "GET /" + fake.address() + "/a/b/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n");
                  return c
                      .read(); // throws RawHttp.Hung after the deadline: the server did not answer
                }));
      }
      go.countDown();
      for (int i = 0; i < CLIENTS; i++) {
        RawHttp.Response r = answers.get(i).get(DEADLINE_MILLIS * 2L, TimeUnit.MILLISECONDS);
        assertNotNull(r, "client " + i + ": the connection closed without an answer");
        String[] c = CASES.get(i % CASES.size());
        assertEquals(502, r.status(), "client " + i + ": " + r);
        String body = r.text();
        assertTrue(body.contains(c[0]), "client " + i + " is not told which annotation: " + body);
        assertFalse(body.contains(MARKER), "client " + i + " got the registry's bytes: " + body);
        assertEquals(1, body.strip().lines().count(), body);
        assertTrue(
            r.headers().keySet().stream().noneMatch(h -> h.contains("injected")), r.toString());
      }
    } finally {
      for (RawHttp c : sockets) {
        c.close();
      }
      pool.shutdownNow();
    }
    assertTrue(
        await(() -> server.server.metrics().connections().get() == baseline),
        "connections still open: "
            + server.server.metrics().connections().get()
            + ", baseline "
            + baseline);
    server.awaitStreamsSettled();
    assertEquals(0, server.server.metrics().downloads().get());
    assertEquals(0, server.server.metrics().uploads().get());
    assertTrue(
        await(() -> accessLines(" 502 ").size() == CLIENTS),
        "access-log lines: " + accessLines(" 502 ").size() + " of " + CLIENTS);
    // The registry's bytes did not reach the log raw either: no line break, no escape.
    for (ILoggingEvent e : logs.events()) {
      String m = e.getFormattedMessage();
      assertFalse(m.contains("\r") || m.contains("\n") || m.contains("\u001b"), m);
    }
    assertEquals(200, server.get("/-/health", null).statusCode());
  }

  @Test
  void aPortThatAnswersWithABannerIs502WithoutTheBanner() throws Exception {
    try (ServerSocket ssh = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                while (!ssh.isClosed()) {
                  try (Socket s = ssh.accept()) {
                    OutputStream out = s.getOutputStream();
                    out.write(
                        ("SSH-2.0-OpenSSH_9.2p1 " + MARKER + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    InputStream in = s.getInputStream();
                    while (in.read() >= 0) {
                      // an SSH server waits for the client's identification; this one until it
                      // hangs up
                    }
                  } catch (IOException e) {
                    // closed: the test is over, or the client hung up
                  }
                }
              },
              "ssh-banner");
      acceptor.setDaemon(true);
      acceptor.start();
      start(null);
      String registry = "127.0.0.1:" + ssh.getLocalPort();
      RawHttp.Response r = rawGet("/" + registry + "/a/b/x.narinfo");
      assertEquals(502, r.status(), r.toString());
      assertTrue(
          r.text().contains(registry), "the operation names the registry asked for: " + r.text());
      assertTrue(r.text().contains("not HTTP"), r.text());
      assertFalse(r.text().contains("SSH"), r.text());
      assertFalse(r.text().contains(MARKER), r.text());
      // (Netty's complaint quotes the banner's first word, upper-cased.)
      assertTrue(logged("SSH-2.0-OPENSSH_9.2P1"), "the banner is in the log for the operator");
    }
  }

  @Test
  void aRegistrysOwnErrorTextIsLoggedNotAnswered() throws Exception {
    start(
        (m, uri, reply) ->
            reply.send(
                500,
                "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\""
                    + MARKER
                    + " /internal/path\"}]}"));
    RawHttp.Response r = rawGet("/" + fake.address() + "/a/b/x.narinfo");
    assertEquals(502, r.status(), r.toString());
    assertTrue(r.text().contains("registry answered 500"), r.text());
    assertFalse(r.text().contains(MARKER), r.text());
    assertFalse(r.text().contains("UNKNOWN"), r.text());
    assertTrue(logged(MARKER), "the registry's message is in the log");
  }

  @Test
  void aBlobOfAnotherSizeThanTheManifestsIs502WithoutTheSize() throws Exception {
    long announced = 7_654_321;
    start(
        (m, uri, reply) -> {
          if (uri.contains("/manifests/")) {
            reply.send(
                200,
                FakeRegistry.OCI_MANIFEST,
                NarManifests.manifest(1 << 20, 1).getBytes(StandardCharsets.UTF_8));
          } else {
            reply.stallMidBody(announced, new byte[10]);
          }
        });
    RawHttp.Response r = rawGet("/" + fake.address() + "/a/b/nar/x.nar");
    assertEquals(502, r.status(), r.toString());
    assertTrue(r.text().contains("another size than the manifest"), r.text());
    assertFalse(r.text().contains(Long.toString(announced)), r.text());
    assertTrue(logged(Long.toString(announced)), "the size is in the log");
    server.awaitStreamsSettled();
    assertEquals(0, server.server.metrics().downloads().get());
  }

  @Test
  void aSmallBlobOfOtherContentIs502WithoutItsDigest() throws Exception {
    byte[] other = "hello".getBytes(StandardCharsets.US_ASCII);
    String otherDigest = Digest.sha256(other).hex();
    start(
        (m, uri, reply) -> {
          if (uri.contains("/manifests/")) {
            reply.send(
                200,
                FakeRegistry.OCI_MANIFEST,
                NarManifests.manifest(other.length, 1).getBytes(StandardCharsets.UTF_8));
          } else {
            reply.send(200, "application/octet-stream", other);
          }
        });
    RawHttp.Response r = rawGet("/" + fake.address() + "/a/b/x.narinfo");
    assertEquals(502, r.status(), r.toString());
    assertFalse(r.text().contains(otherDigest), r.text());
    assertTrue(logged(otherDigest), "the digest of what it sent is in the log");
  }

  private RawHttp.Response rawGet(String path) throws Exception {
    try (RawHttp c = new RawHttp(server.port(), DEADLINE_MILLIS)) {
      c.write("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response r = c.read();
      assertNotNull(r, "closed without an answer");
      return r;
    }
  }

  private List<String> accessLines(String contains) {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : logs.events()) {
      if (e.getLoggerName().equals("dev.oranc.proxy.access")
          && e.getFormattedMessage().contains(contains)) {
        out.add(e.getFormattedMessage());
      }
    }
    return out;
  }

  private boolean logged(String text) {
    return logs.messages().stream().anyMatch(m -> m.contains(text));
  }

  /** Waits (at most 5 s) for a condition the server reaches on its own loop. */
  private static boolean await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }
}
