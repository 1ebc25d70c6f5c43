package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code Range} on GET, for every client: one range is a 206 with {@code Content-Range} — sliced
 * from the small-blob cache, or asked of the registry for a streamed blob (the registry's requests
 * are counted through the harness's proxy to show the range was passed on) — a range past the end
 * is a 416, and several ranges get the whole file.
 */
class RangeTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static byte[] random(int n, int seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static String stored(byte[] body) throws Exception {
    Registry r = registry.get();
    String path =
        "/"
            + r.proxyAddress()
            + "/test/r"
            + UUID.randomUUID().toString().substring(0, 8)
            + "/nar/x.nar";
    HttpResponse<byte[]> put = server.put(path, body, null);
    assertEquals(200, put.statusCode(), TestServer.text(put));
    return path;
  }

  private static HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    return server.send("GET", path, null, null, headers);
  }

  private static void assertPartial(HttpResponse<byte[]> r, byte[] whole, int first, int last) {
    assertEquals(206, r.statusCode(), TestServer.text(r));
    assertEquals(
        "bytes " + first + "-" + last + "/" + whole.length,
        r.headers().firstValue("Content-Range").orElse(null));
    assertEquals(
        String.valueOf(last - first + 1), r.headers().firstValue("Content-Length").orElse(null));
    assertEquals("bytes", r.headers().firstValue("Accept-Ranges").orElse(null));
    assertArrayEquals(Arrays.copyOfRange(whole, first, last + 1), r.body());
  }

  @Test
  void aSmallCachedBlobIsSliced() throws Exception {
    byte[] body = random(1000, 1);
    String path = stored(body);
    HttpResponse<byte[]> whole = get(path);
    assertEquals(200, whole.statusCode());
    assertEquals("bytes", whole.headers().firstValue("Accept-Ranges").orElse(null));
    assertArrayEquals(body, whole.body());

    registry.get().resetCounters();
    assertPartial(get(path, "Range", "bytes=10-19"), body, 10, 19);
    assertPartial(get(path, "Range", "bytes=990-"), body, 990, 999);
    assertPartial(get(path, "Range", "bytes=-7"), body, 993, 999);
    assertPartial(get(path, "Range", "bytes=0-5000"), body, 0, 999);
    // Served from the cache: no blob request reached the registry.
    assertEquals(0, registry.get().proxiedRequests("GET", ".*/blobs/.*").size());
  }

  @Test
  void aLargeBlobsRangeIsAskedOfTheRegistry() throws Exception {
    byte[] body = random(3 << 20, 2);
    String path = stored(body);
    registry.get().resetCounters();
    assertPartial(get(path, "Range", "bytes=1000000-1999999"), body, 1_000_000, 1_999_999);
    var blobGets = registry.get().proxiedRequests("GET", ".*/blobs/sha256:.*");
    assertEquals(1, blobGets.size(), blobGets.toString());
    // The registry sent the range only, not the 3 MiB.
    assertTrue(
        blobGets.get(0).responseBodyBytes() < 1_100_000 && blobGets.get(0).status() == 206,
        blobGets.toString());

    assertPartial(get(path, "Range", "bytes=-1"), body, body.length - 1, body.length - 1);
    assertPartial(get(path, "Range", "bytes=3145000-"), body, 3_145_000, body.length - 1);
  }

  @Test
  void s3ClientsGetAnETagAndLastModifiedAndAnIfRangeNamingItKeepsTheRange() throws Exception {
    for (byte[] body : new byte[][] {random(500, 6), random(100_000, 7)}) {
      String path = stored(body);
      HttpResponse<byte[]> plain = server.head(path, null);
      assertTrue(
          plain.headers().firstValue("Last-Modified").isEmpty(),
          "no Last-Modified for plain clients");
      HttpResponse<byte[]> s3 =
          server.send("HEAD", path, null, null, "x-amz-date", "20240101T000000Z");
      String etag = s3.headers().firstValue("ETag").orElseThrow();
      assertTrue(etag.matches("\"[0-9a-f]{64}\""), etag);
      assertEquals(
          etag, plain.headers().firstValue("ETag").orElse(null), "every client gets the ETag");
      assertEquals(
          "Thu, 01 Jan 1970 00:00:00 GMT", s3.headers().firstValue("Last-Modified").orElse(null));
      HttpResponse<byte[]> same =
          server.send(
              "GET",
              path,
              null,
              null,
              "x-amz-date",
              "20240101T000000Z",
              "Range",
              "bytes=5-9",
              "If-Range",
              etag);
      assertPartial(same, body, 5, 9);
      assertEquals(etag, same.headers().firstValue("ETag").orElse(null));
      HttpResponse<byte[]> other =
          get(path, "Range", "bytes=5-9", "If-Range", "\"" + "0".repeat(64) + "\"");
      assertEquals(200, other.statusCode());
      assertArrayEquals(body, other.body());
    }
  }

  @Test
  void aRegistryThatIgnoresTheRangeHasItCutFromTheWholeBlob() throws Exception {
    byte[] body = random(100_000, 5);
    try (FakeRegistry fake =
        FakeRegistry.byTarget(
            (method, uri, reply) -> {
              if (uri.contains("/manifests/")) {
                reply.send(
                    200,
                    FakeRegistry.OCI_MANIFEST,
                    NarManifests.manifest(body.length, 1).getBytes(StandardCharsets.UTF_8));
              } else {
                reply.send(200, "application/octet-stream", body);
              }
            })) {
      String path = "/" + fake.address() + "/a/b/nar/x.nar";
      assertPartial(get(path, "Range", "bytes=50000-50099"), body, 50_000, 50_099);
      assertPartial(get(path, "Range", "bytes=-10"), body, body.length - 10, body.length - 1);
      HttpResponse<byte[]> whole = get(path);
      assertEquals(200, whole.statusCode());
      assertArrayEquals(body, whole.body());
    }
  }

  @Test
  void aRangePastTheEndIs416AndOthersGetTheWholeFile() throws Exception {
    byte[] small = random(100, 3);
    byte[] large = random(200_000, 4);
    for (byte[] body : new byte[][] {small, large}) {
      String path = stored(body);
      HttpResponse<byte[]> past = get(path, "Range", "bytes=" + body.length + "-");
      assertEquals(416, past.statusCode(), TestServer.text(past));
      assertEquals(
          "bytes */" + body.length, past.headers().firstValue("Content-Range").orElse(null));
      assertEquals(416, get(path, "Range", "bytes=-0").statusCode());

      for (String ignored : new String[] {"bytes=0-1,5-6", "items=0-5", "bytes=9-2", "bytes=x-"}) {
        HttpResponse<byte[]> r = get(path, "Range", ignored);
        assertEquals(200, r.statusCode(), ignored);
        assertArrayEquals(body, r.body(), ignored);
      }
      HttpResponse<byte[]> ifRange = get(path, "Range", "bytes=0-1", "If-Range", "\"x\"");
      assertEquals(200, ifRange.statusCode());
      assertArrayEquals(body, ifRange.body());
      // The connection stays usable after a 416.
      assertPartial(get(path, "Range", "bytes=0-0"), body, 0, 0);
    }
  }
}
