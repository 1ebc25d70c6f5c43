package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.cache.PendingPublishes;
import dev.oranc.proxy.cache.Prefetcher;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.request.Exchange;
import dev.oranc.proxy.s3.MultipartUploads;
import dev.oranc.proxy.upstream.UpstreamChecker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The whole pipeline on an {@code EmbeddedChannel}, bytes in and bytes out: limits, Expect,
 * pipelining, the services, client mistakes. No registry is involved (none is reachable: every
 * request here is answered before one would be asked).
 */
class PipelineTest {

  private RegistryClient client;
  private EmbeddedChannel channel;
  private ServerMetrics metrics;
  private boolean draining;
  private Duration idle;

  @BeforeEach
  void setUp() {
    ServerConfig config =
        ServerConfig.builder().maxInitialLineLength(1024).maxHeaderSize(2048).build();
    idle = config.idleTimeout();
    client = new RegistryClient(RegistryClientConfig.builder().tls(false).maxAttempts(1).build());
    metrics = new ServerMetrics();
    MultipartUploads multipart =
        new MultipartUploads(
            config.multipartSpoolDir(),
            config.multipartSpoolBytes(),
            config.multipartExpiry(),
            config.maxMultipartUploadsPerClient(),
            config.ticker());
    Backend backend =
        new Backend(
            new OciBinaryCache(client, TagCodec.DEFAULT),
            new LayerCache(
                100, Duration.ofMinutes(1), Duration.ofSeconds(1), Ticker.systemTicker()),
            new BlobCache(1 << 20, 65536, Duration.ofMinutes(1), Ticker.systemTicker()),
            new UpstreamChecker(
                List.of(),
                Pattern.compile("x"),
                false,
                1,
                Duration.ofSeconds(1),
                10,
                Duration.ofMinutes(1),
                Duration.ofMinutes(1),
                Ticker.systemTicker(),
                metrics),
            metrics,
            Prefetcher.disabled(),
            new PendingPublishes());
    ServerInitializer init =
        new ServerInitializer(
            config,
            backend,
            multipart,
            () -> draining,
            new DefaultChannelGroup(GlobalEventExecutor.INSTANCE));
    channel = new EmbeddedChannel();
    init.addHandlers(channel.pipeline());
  }

  @AfterEach
  void tearDown() {
    channel.finishAndReleaseAll();
    client.close();
  }

  private void send(String raw) {
    channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
    channel.runPendingTasks();
  }

  /** Everything the server wrote so far, as text. */
  private String output() {
    StringBuilder b = new StringBuilder();
    Object o;
    while ((o = channel.readOutbound()) != null) {
      ByteBuf buf = (ByteBuf) o;
      b.append(buf.toString(StandardCharsets.ISO_8859_1));
      buf.release();
    }
    return b.toString();
  }

  @Test
  void theBannerHealthAndMetrics() {
    send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 200 OK\r\n"), out);
    assertTrue(out.endsWith("\r\n\r\noranc: OCI Registry As Nix Cache\n"), out);
    send("HEAD /-/health HTTP/1.1\r\nHost: x\r\n\r\n");
    out = output();
    assertTrue(
        out.startsWith("HTTP/1.1 200 OK\r\n")
            && out.contains("content-length: 3")
            && out.endsWith("\r\n\r\n"),
        out);
    send("GET /-/metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    out = output();
    assertTrue(out.contains("oranc_http_requests_total{method=\"HEAD\",status=\"200\"} 1"), out);
    assertTrue(channel.isActive());
  }

  @Test
  void anOverlongRequestLineIs414AndClosesTheConnection() {
    send("GET /" + "a".repeat(2000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 414 "), out);
    assertTrue(out.contains("connection: close"), out);
    assertFalse(channel.isActive());
  }

  @Test
  void overlargeHeadersAre431() {
    send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(4000) + "\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 431 "), out);
    assertFalse(channel.isActive());
  }

  @Test
  void garbageIs400() {
    send("\u0001\u0002 nonsense\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 400 "), out);
    assertFalse(channel.isActive());
  }

  @Test
  void expectContinueIsAnsweredAtOnceForAPut() {
    send(
        "PUT /127.0.0.1:1/a/b/nix-cache-info HTTP/1.1\r\n"
            + "Host: x\r\n"
            + "Content-Length: 21\r\n"
            + "Expect: 100-continue\r\n\r\n");
    String out = output();
    assertEquals("HTTP/1.1 100 Continue\r\n\r\n", out);
  }

  @Test
  void aRefusedPutGetsItsAnswerInsteadOf100AndTheConnectionCloses() {
    send(
        "PUT /127.0.0.1:1/a/b HTTP/1.1\r\n"
            + "Host: x\r\n"
            + "Content-Length: 21\r\n"
            + "Expect: 100-continue\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 404 "), out);
    assertFalse(out.contains("100 Continue"), out);
    assertTrue(out.contains("names no cache file"), out);
    assertFalse(channel.isActive(), "the unread body would be taken for the next request");
  }

  @Test
  void otherMethodsAre405WithAllow() {
    send("DELETE /r.io/a/b/k HTTP/1.1\r\nHost: x\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 405 "), out);
    assertTrue(out.contains("allow: GET, HEAD, PUT"), out);
    assertTrue(channel.isActive(), "a request without a body keeps its connection");
  }

  @Test
  void aBadAuthorizationHeaderIs400WithAOneLineReason() {
    send("GET /r.io/a/b/k HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %%%\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 400 "), out);
    String body = out.substring(out.indexOf("\r\n\r\n") + 4);
    assertEquals(1, body.lines().count(), body);
    assertTrue(body.contains("Authorization header"), body);
    assertFalse(body.contains("%%%"));
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() {
    send(
        "GET /-/health HTTP/1.1\r\n"
            + "Host: x\r\n\r\n"
            + "GET /nope HTTP/1.1\r\n"
            + "Host: x\r\n\r\n"
            + "GET / HTTP/1.1\r\n"
            + "Host: x\r\n\r\n");
    channel.runPendingTasks();
    String out = output();
    int a = out.indexOf("HTTP/1.1 200");
    int b = out.indexOf("HTTP/1.1 404");
    int c = out.indexOf("HTTP/1.1 200", b);
    assertTrue(a == 0 && b > a && c > b, out);
    assertTrue(out.endsWith("oranc: OCI Registry As Nix Cache\n"), out);
  }

  @Test
  void whileDrainingNewRequestsAre503AndResponsesCloseTheConnection() {
    draining = true;
    send("GET /r.io/a/b/k HTTP/1.1\r\nHost: x\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 503 "), out);
    assertTrue(out.contains("connection: close"), out);
    assertFalse(channel.isActive());
  }

  @Test
  void whileDrainingTheHealthCheckIs503() {
    send("GET /-/health HTTP/1.1\r\nHost: x\r\n\r\n");
    assertTrue(output().startsWith("HTTP/1.1 200 OK\r\n"));
    draining = true;
    send("GET /-/health HTTP/1.1\r\nHost: x\r\n\r\n");
    String out = output();
    assertTrue(out.startsWith("HTTP/1.1 503 "), "docs/SERVER.md: 503 while draining: " + out);
  }

  @Test
  void theAccessLogExchangeIsGoneAfterTheResponse() {
    send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    output();
    assertNull(Exchange.current(channel));
    assertEquals(1, metrics.requests("GET", 200));
  }

  /** Moves the channel's frozen clock on by {@code d} and runs what fell due. */
  private void advance(Duration d) {
    channel.advanceTimeBy(d.toNanos(), TimeUnit.NANOSECONDS);
    channel.runScheduledPendingTasks();
  }

  @Test
  void aHeadThatNeverEndsIsClosedAtTheIdleTimeoutNotBeforeAndUnanswered() {
    // The channel's clock is the test's: the idle timeout is a decision, not a race with the
    // machine's load.
    channel.freezeTime();
    send("GET / HTTP/1.1\r\nHost: x\r\n");
    advance(idle.minusMillis(1));
    assertTrue(channel.isActive(), "closed before the idle timeout");
    advance(Duration.ofMillis(1));
    assertFalse(channel.isActive(), "a head that never ends kept its connection");
    assertEquals("", output(), "slowloris gets no answer, only the close");
  }

  @Test
  void aHeadDrippedAByteATenthOfTheIdleTimeoutIsCutOffAtTheIdleTimeout() {
    // BadInputCorpusTest drips over a real socket; here on the channel's clock, so how long a
    // byte takes is the test's to say: only a whole head (or body piece) counts as the client
    // moving, and a head dripped slower than one per idle timeout never gets in.
    channel.freezeTime();
    byte[] head =
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "s".repeat(100) + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
    int sent = 0;
    while (channel.isActive() && sent < head.length) {
      channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {head[sent++]}));
      channel.runPendingTasks();
      advance(idle.dividedBy(10));
    }
    assertFalse(channel.isActive(), "the server read the whole dripped head");
    assertEquals(10, sent, "cut off one idle timeout after the connection opened");
    assertEquals("", output());
  }

  @Test
  void anIdleKeepAliveConnectionIsClosedAtTheIdleTimeoutCountedFromItsLastResponse() {
    channel.freezeTime();
    advance(idle.dividedBy(2));
    send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assertTrue(output().startsWith("HTTP/1.1 200 OK\r\n"));
    advance(idle.minusMillis(1));
    assertTrue(channel.isActive(), "closed before the idle timeout after the response");
    advance(Duration.ofMillis(1));
    assertFalse(channel.isActive(), "an idle keep-alive connection stayed open");
    assertEquals("", output());
  }
}
