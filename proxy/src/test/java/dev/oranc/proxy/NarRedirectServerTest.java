package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.oci.Digest;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.GhcrLike;
import dev.oranc.testkit.Registry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --nar-redirect} against the ghcr.io stand-in (blob GETs answered 307 to presigned storage
 * that refuses {@code Authorization} and {@code HEAD}) and against the CNCF registry behind it
 * (which serves blobs itself): a NAR GET is a 307 whose URL works without credentials and is
 * remembered per credential scope for half its life (on an injected ticker); a registry that serves
 * the bytes is relayed from the one request; HEAD is answered here; a Range is relayed.
 */
class NarRedirectServerTest {

  private static final String BLOB_GET = "/v2/.+/blobs/sha256:[0-9a-f]{64}";

  private static GhcrLike ghcr;
  private static TestServer server;
  private static final AtomicLong nanos = new AtomicLong();
  private static final Ticker ticker = nanos::get;
  private static final String USER = TestServer.basic(Registry.USER, Registry.PASSWORD);
  private static final String READER = TestServer.basic(Registry.READER, Registry.READER_PASSWORD);
  private static final HttpClient plain =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .followRedirects(HttpClient.Redirect.NEVER)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @BeforeAll
  static void start() {
    ghcr = GhcrLike.start();
    server = TestServer.start(b -> b.narRedirect(true).ticker(ticker));
  }

  @AfterAll
  static void stop() {
    try {
      server.close();
    } finally {
      ghcr.close();
    }
  }

  private static byte[] random(int n, int seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static String put(String registry, byte[] nar) throws Exception {
    String path =
        "/"
            + registry
            + "/redirect/r"
            + UUID.randomUUID().toString().substring(0, 8)
            + "/nar/x.nar.zst";
    HttpResponse<byte[]> put = server.put(path, nar, USER, "Content-Type", "application/x-nix-nar");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    return path;
  }

  private static int blobGets() {
    // A 401 is a step of the token dance, not a request of its own.
    return (int)
        ghcr.served("registry", "GET", BLOB_GET).stream().filter(s -> s.status() != 401).count();
  }

  private static HttpResponse<byte[]> follow(HttpResponse<byte[]> redirect) throws Exception {
    String location = redirect.headers().firstValue("Location").orElseThrow();
    return plain.send(
        HttpRequest.newBuilder(URI.create(location)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /** Waits (up to 5 s) for a counter that the server bumps once a relay has ended. */
  private static void awaitCount(long expected, LongSupplier counter) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (counter.getAsLong() < expected && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(expected, counter.getAsLong());
  }

  @Test
  void aNarGetIsA307ToStorageRememberedPerCredentialScopeForHalfItsLife() throws Exception {
    byte[] nar = random(200_000, 1);
    String path = put(ghcr.address(), nar);
    ghcr.resetCounters();
    long redirected = server.server.metrics().narsRedirected();
    long relayedBytes = server.server.metrics().narBytesRelayed();

    HttpResponse<byte[]> first = server.get(path, USER);
    assertEquals(307, first.statusCode(), TestServer.text(first));
    String location = first.headers().firstValue("Location").orElseThrow();
    assertTrue(location.startsWith("http://" + ghcr.storageAddress() + "/blobs/sha256/"), location);
    assertEquals(0, first.body().length);
    // Never stored by a shared cache: the URL is a bearer credential for this caller's blob.
    assertEquals("no-store", first.headers().firstValue("Cache-Control").orElse(null));
    assertEquals("authorization", first.headers().firstValue("Vary").orElse("").toLowerCase());
    HttpResponse<byte[]> fromStorage = follow(first);
    assertEquals(200, fromStorage.statusCode());
    assertArrayEquals(nar, fromStorage.body());
    assertEquals(1, blobGets());

    // The same credentials: the remembered URL, no registry request.
    HttpResponse<byte[]> again = server.get(path, USER);
    assertEquals(307, again.statusCode());
    assertEquals(location, again.headers().firstValue("Location").orElseThrow());
    assertEquals(1, blobGets());

    // Other credentials: their own registry request, never user's URL.
    HttpResponse<byte[]> reader = server.get(path, READER);
    assertEquals(307, reader.statusCode());
    assertEquals(2, blobGets());
    assertArrayEquals(nar, follow(reader).body());

    // Anonymous, on a private repository: refused as before, nothing handed out.
    HttpResponse<byte[]> anonymous = server.get(path, null);
    assertTrue(
        anonymous.statusCode() == 401 || anonymous.statusCode() == 404,
        "anonymous: " + anonymous.statusCode());
    assertTrue(anonymous.headers().firstValue("Location").isEmpty());
    assertEquals(2, blobGets());

    // The URL lives 300 s (X-Expires): remembered for 150 s, on the server's ticker.
    nanos.addAndGet(Duration.ofSeconds(140).toNanos());
    assertEquals(location, server.get(path, USER).headers().firstValue("Location").orElseThrow());
    assertEquals(2, blobGets());
    nanos.addAndGet(Duration.ofSeconds(20).toNanos());
    HttpResponse<byte[]> fresh = server.get(path, USER);
    assertEquals(307, fresh.statusCode());
    assertEquals(3, blobGets());
    assertArrayEquals(nar, follow(fresh).body());

    assertEquals(redirected + 5, server.server.metrics().narsRedirected());
    assertEquals(
        relayedBytes,
        server.server.metrics().narBytesRelayed(),
        "NAR bytes went through the server");
    assertTrue(server.server.metrics().scrape().contains("oranc_nar_redirected_total"));
  }

  @Test
  void headIsAnsweredHereAndARangeIsRelayed() throws Exception {
    byte[] nar = random(150_000, 2);
    String path = put(ghcr.address(), nar);
    ghcr.resetCounters();
    long redirected = server.server.metrics().narsRedirected();
    long relayed = server.server.metrics().narsRelayed();
    long relayedBytes = server.server.metrics().narBytesRelayed();

    HttpResponse<byte[]> head = server.head(path, USER);
    assertEquals(200, head.statusCode());
    assertEquals(
        String.valueOf(nar.length), head.headers().firstValue("Content-Length").orElse(null));
    assertEquals(0, blobGets());
    assertEquals(0, ghcr.served("storage", "HEAD", ".*").size());

    HttpResponse<byte[]> range = server.send("GET", path, null, USER, "Range", "bytes=1000-1999");
    assertEquals(206, range.statusCode(), TestServer.text(range));
    assertArrayEquals(Arrays.copyOfRange(nar, 1000, 2000), range.body());
    assertEquals(
        "bytes 1000-1999/" + nar.length, range.headers().firstValue("Content-Range").orElse(null));
    awaitCount(relayed + 1, () -> server.server.metrics().narsRelayed());
    assertEquals(relayedBytes + 1000, server.server.metrics().narBytesRelayed());
    assertEquals(redirected, server.server.metrics().narsRedirected());
    server.awaitStreamsSettled();
  }

  @Test
  void aRegistryThatServesTheBytesItselfIsRelayedFromItsOneAnswer() throws Exception {
    // The CNCF registry behind the stand-in, through its counting proxy: no redirects there.
    Registry cncf = ghcr.registry();
    byte[] nar = random(120_000, 3);
    String path = put(cncf.proxyAddress(), nar);
    cncf.resetCounters();
    long redirected = server.server.metrics().narsRedirected();
    long relayed = server.server.metrics().narsRelayed();
    long relayedBytes = server.server.metrics().narBytesRelayed();

    HttpResponse<byte[]> get = server.get(path, USER);
    assertEquals(200, get.statusCode(), TestServer.text(get));
    assertArrayEquals(nar, get.body());
    assertNotEquals("no-store", get.headers().firstValue("Cache-Control").orElse(null));
    awaitCount(relayed + 1, () -> server.server.metrics().narsRelayed());
    assertEquals(relayedBytes + nar.length, server.server.metrics().narBytesRelayed());
    assertEquals(redirected, server.server.metrics().narsRedirected());
    // One blob GET: the answer that said "here" is the one relayed.
    assertEquals(
        1,
        cncf.proxiedRequests("GET", BLOB_GET).stream().filter(r -> r.status() != 401).count(),
        cncf.proxiedRequests().toString());
    server.awaitStreamsSettled();
  }

  @Test
  void onAPublicRepositoryAnAnonymousRequestGetsItsOwnUrlNeverOneFetchedWithCredentials()
      throws Exception {
    byte[] nar = random(90_000, 4);
    String path = put(ghcr.address(), nar);
    String repository = path.split("/")[2] + "/" + path.split("/")[3];
    ghcr.makePublic(repository);
    ghcr.resetCounters();

    HttpResponse<byte[]> user = server.get(path, USER);
    assertEquals(307, user.statusCode(), TestServer.text(user));
    assertEquals(1, blobGets());
    HttpResponse<byte[]> anonymous = server.get(path, null);
    assertEquals(307, anonymous.statusCode(), TestServer.text(anonymous));
    assertEquals(
        2, blobGets(), "the anonymous request was handed the URL fetched with credentials");
    assertEquals("no-store", anonymous.headers().firstValue("Cache-Control").orElse(null));
    assertArrayEquals(nar, follow(anonymous).body());
    assertEquals(307, server.get(path, null).statusCode());
    assertEquals(2, blobGets(), "the anonymous URL is remembered for anonymous requests");
  }

  @Test
  void aRedirectToTheRegistrysOwnOriginIsFollowedAndRelayedNeverHandedOut() throws Exception {
    // The client would need the server's credentials at the registry's origin: not handed out.
    Registry cncf = ghcr.registry();
    byte[] nar = random(80_000, 5);
    try (FaultInjector front = new FaultInjector(cncf.address(), cncf.tokenRealm())) {
      String path = put(front.address(), nar);
      String blob =
          "/v2/" + path.split("/")[2] + "/" + path.split("/")[3] + "/blobs/" + Digest.sha256(nar);
      front.add(
          FaultInjector.Rule.of(
              "GET",
              Pattern.quote(blob) + "$",
              FaultInjector.Fault.status(
                  307, "Location", "http://" + front.address() + blob + "?own=1"),
              -1));
      long redirected = server.server.metrics().narsRedirected();
      long relayed = server.server.metrics().narsRelayed();

      HttpResponse<byte[]> get = server.get(path, USER);
      assertEquals(200, get.statusCode(), TestServer.text(get));
      assertArrayEquals(nar, get.body());
      // The locating GET (its redirect not followed), then the relay's own GET, which follows it
      // with the credentials: two, for a case that is rare (storage is another origin).
      assertEquals(2, front.injectedCount());
      awaitCount(relayed + 1, () -> server.server.metrics().narsRelayed());
      assertEquals(redirected, server.server.metrics().narsRedirected());
      server.awaitStreamsSettled();
    }
  }
}
