package dev.oranc.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.proxy.ServerConfig;
import dev.oranc.proxy.ServerInitializer;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.cache.PendingPublishes;
import dev.oranc.proxy.cache.Prefetcher;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.route.Route;
import dev.oranc.proxy.s3.MultipartUploads;
import dev.oranc.proxy.upstream.UpstreamChecker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Each rule of {@link CacheHeaders}: as a function of status, key and credentials, the {@code
 * If-None-Match} comparison, and on the whole pipeline ({@code EmbeddedChannel}) for answers that
 * need no registry: the banner, health, metrics, client mistakes with and without credentials, an
 * early 100 Continue (which must stay bare).
 */
class CacheHeadersTest {

  private static final RepositoryRef REPO = RepositoryRef.of("registry.test", "o/c");
  private final CacheHeaders defaults = new CacheHeaders(Duration.ofSeconds(60), Duration.ZERO);

  private static Route.File get(String key) {
    return new Route.File(Route.Method.GET, REPO, key, Credentials.anonymous());
  }

  @Test
  void anonymousNarsAreImmutableForAYearAndCredentialedOnesPrivate() {
    for (int status : new int[] {200, 206, 304}) {
      assertEquals(
          "public, max-age=31536000, immutable",
          defaults.cacheControl(status, "nar/abc.nar.xz", false));
      assertEquals(
          "private, max-age=31536000, immutable",
          defaults.cacheControl(status, "nar/abc.nar.xz", true));
    }
  }

  @Test
  void narinfosAndOtherKeysGetTheShortLifetimePublicOrPrivate() {
    for (String key :
        List.of(
            "abc.narinfo", "nix-cache-info", "log/abc-foo.drv", "abc.ls", "realisations/x.doi")) {
      assertEquals("public, max-age=60", defaults.cacheControl(200, key, false), key);
      assertEquals("private, max-age=60", defaults.cacheControl(200, key, true), key);
      assertEquals("public, max-age=60", defaults.cacheControl(304, key, false), key);
    }
    CacheHeaders other = new CacheHeaders(Duration.ofSeconds(5), Duration.ZERO);
    assertEquals("public, max-age=5", other.cacheControl(200, "abc.narinfo", false));
    CacheHeaders never = new CacheHeaders(Duration.ZERO, Duration.ZERO);
    assertEquals("no-store", never.cacheControl(200, "abc.narinfo", false));
    assertEquals("no-store", never.cacheControl(200, "abc.narinfo", true));
    // A NAR is content-addressed whatever the narinfo lifetime.
    assertEquals(
        "public, max-age=31536000, immutable", never.cacheControl(200, "nar/abc.nar", false));
  }

  @Test
  void notFoundIsNotStoredUnlessConfiguredAndNeverForCredentials() {
    assertEquals("no-store", defaults.cacheControl(404, "abc.narinfo", false));
    assertEquals("no-store", defaults.cacheControl(404, "nar/abc.nar", false));
    CacheHeaders some = new CacheHeaders(Duration.ofSeconds(60), Duration.ofSeconds(30));
    assertEquals("public, max-age=30", some.cacheControl(404, "abc.narinfo", false));
    assertEquals("no-store", some.cacheControl(404, "abc.narinfo", true));
  }

  @Test
  void everyErrorIsNoStore() {
    CacheHeaders some = new CacheHeaders(Duration.ofSeconds(60), Duration.ofSeconds(30));
    for (int status : new int[] {400, 401, 403, 405, 416, 500, 502, 503, 504}) {
      assertEquals("no-store", some.cacheControl(status, "abc.narinfo", false), "status " + status);
      assertEquals("no-store", some.cacheControl(status, "nar/x.nar", true), "status " + status);
    }
  }

  @Test
  void aRedirectToAnUpstreamIsShortEvenForANar() {
    assertEquals("public, max-age=60", defaults.cacheControl(302, "nar/abc.nar.xz", false));
    assertEquals("private, max-age=60", defaults.cacheControl(302, "abc.narinfo", true));
  }

  @Test
  void applyMarksEveryAnswerInertAndOnlyFileReadsCacheable() {
    HttpHeaders h = new DefaultHttpHeaders();
    defaults.apply(h, 200, get("nar/a.nar"), false);
    assertEquals("nosniff", h.get("X-Content-Type-Options"));
    assertEquals("default-src 'none'; sandbox", h.get("Content-Security-Policy"));
    assertEquals("authorization", h.get("Vary").toLowerCase(Locale.ROOT));
    assertEquals("public, max-age=31536000, immutable", h.get("Cache-Control"));

    Route.File head = new Route.File(Route.Method.HEAD, REPO, "a.narinfo", Credentials.anonymous());
    h = new DefaultHttpHeaders();
    defaults.apply(h, 200, head, true);
    assertEquals("private, max-age=60", h.get("Cache-Control"));

    for (Route route :
        new Route[] {
          new Route.Banner(),
          new Route.Health(),
          new Route.Metrics(),
          null,
          new Route.File(Route.Method.PUT, REPO, "a.narinfo", Credentials.anonymous())
        }) {
      h = new DefaultHttpHeaders();
      defaults.apply(h, 200, route, false);
      assertEquals("no-store", h.get("Cache-Control"), String.valueOf(route));
      assertEquals("nosniff", h.get("X-Content-Type-Options"), String.valueOf(route));
      assertEquals(
          "default-src 'none'; sandbox", h.get("Content-Security-Policy"), String.valueOf(route));
      assertNull(h.get("Vary"), String.valueOf(route));
    }
  }

  @Test
  void ifNoneMatchComparesWeaklyAndReadsListsAndStar() {
    String etag = "\"0123abcd\"";
    assertTrue(CacheHeaders.ifNoneMatch("\"0123abcd\"", etag));
    assertTrue(CacheHeaders.ifNoneMatch("W/\"0123abcd\"", etag), "weak comparison ignores W/");
    assertTrue(CacheHeaders.ifNoneMatch("\"x\", W/\"y\",\"0123abcd\"", etag));
    assertTrue(CacheHeaders.ifNoneMatch(" * ", etag));
    assertTrue(
        CacheHeaders.ifNoneMatch("\"a,b\", \"0123abcd\"", etag), "a comma may sit inside a tag");
    assertFalse(CacheHeaders.ifNoneMatch(null, etag));
    assertFalse(CacheHeaders.ifNoneMatch("", etag));
    assertFalse(CacheHeaders.ifNoneMatch("\"0123abc\"", etag), "a prefix is not the tag");
    assertFalse(CacheHeaders.ifNoneMatch("\"0123abcde\"", etag));
    assertFalse(CacheHeaders.ifNoneMatch("0123abcd", etag), "unquoted: malformed, matches nothing");
    assertFalse(CacheHeaders.ifNoneMatch("\"0123abcd", etag), "unterminated");
    assertFalse(CacheHeaders.ifNoneMatch("\"x\", 0123abcd", etag));
    assertFalse(CacheHeaders.ifNoneMatch("W/", etag));
    assertFalse(
        CacheHeaders.ifNoneMatch("\"0123ABCD\"", etag), "opaque tags compare case-sensitively");
  }

  // --- on the pipeline ---------------------------------------------------------------------------

  private RegistryClient client;
  private EmbeddedChannel channel;

  private EmbeddedChannel pipeline() {
    ServerConfig config = ServerConfig.builder().build();
    client = new RegistryClient(RegistryClientConfig.builder().tls(false).maxAttempts(1).build());
    ServerMetrics metrics = new ServerMetrics();
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
            () -> false,
            new DefaultChannelGroup(GlobalEventExecutor.INSTANCE));
    channel = new EmbeddedChannel();
    init.addHandlers(channel.pipeline());
    return channel;
  }

  @AfterEach
  void tearDown() {
    if (channel != null) {
      channel.finishAndReleaseAll();
    }
    if (client != null) {
      client.close();
    }
  }

  private String exchange(String raw) {
    channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
    channel.runPendingTasks();
    StringBuilder b = new StringBuilder();
    Object o;
    while ((o = channel.readOutbound()) != null) {
      ByteBuf buf = (ByteBuf) o;
      b.append(buf.toString(StandardCharsets.ISO_8859_1));
      buf.release();
    }
    return b.toString();
  }

  private static void assertInertAndNotStored(String out) {
    String head = out.substring(0, out.indexOf("\r\n\r\n") + 2).toLowerCase(Locale.ROOT);
    assertTrue(head.contains("\r\nx-content-type-options: nosniff\r\n"), out);
    assertTrue(head.contains("\r\ncontent-security-policy: default-src 'none'; sandbox\r\n"), out);
    assertTrue(head.contains("\r\ncache-control: no-store\r\n"), out);
  }

  @Test
  void theBannerHealthAndMetricsAreInertAndNotStored() {
    pipeline();
    for (String path : List.of("/", "/-/health", "/-/metrics")) {
      String out = exchange("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
      assertTrue(out.startsWith("HTTP/1.1 200 "), out);
      assertInertAndNotStored(out);
    }
    String out = exchange("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    assertInertAndNotStored(out);
  }

  @Test
  void clientMistakesAreInertAndNotStoredWithOrWithoutCredentials() {
    pipeline();
    String out = exchange("GET /registry.test/o/c HTTP/1.1\r\nHost: x\r\n\r\n");
    assertTrue(out.startsWith("HTTP/1.1 404 "), out);
    assertInertAndNotStored(out);
    out =
        exchange("GET /registry.test/o/c HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\n\r\n");
    assertTrue(out.startsWith("HTTP/1.1 404 "), out);
    assertInertAndNotStored(out);
    out =
        exchange(
            "GET /registry.test/o/c/a.narinfo HTTP/1.1\r\n"
                + "Host: x\r\n"
                + "Authorization: Basic !!!\r\n\r\n");
    assertTrue(out.startsWith("HTTP/1.1 400 "), out);
    assertInertAndNotStored(out);
    out = exchange("DELETE /registry.test/o/c/a.narinfo HTTP/1.1\r\nHost: x\r\n\r\n");
    assertTrue(out.startsWith("HTTP/1.1 405 "), out);
    assertInertAndNotStored(out);
  }

  @Test
  void garbageIsAnsweredInertToo() {
    pipeline();
    String out = exchange("\u0001\u0002 nonsense\r\n\r\n");
    assertTrue(out.startsWith("HTTP/1.1 400 "), out);
    assertInertAndNotStored(out);
  }

  @Test
  void aHundredContinueStaysBare() {
    pipeline();
    String out =
        exchange(
            "PUT /127.0.0.1:1/a/b/nix-cache-info HTTP/1.1\r\n"
                + "Host: x\r\n"
                + "Content-Length: 21\r\n"
                + "Expect: 100-continue\r\n\r\n");
    assertEquals("HTTP/1.1 100 Continue\r\n\r\n", out);
  }
}
