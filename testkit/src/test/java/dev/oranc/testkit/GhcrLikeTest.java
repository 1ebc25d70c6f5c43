package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each ghcr.io behaviour of {@link GhcrLike}, seen by a plain JDK client, against the real registry
 * behind it; time is a clock the test moves.
 */
class GhcrLikeTest {

  private static final HttpClient http =
      HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private static final AtomicReference<Instant> now =
      new AtomicReference<>(Instant.parse("2026-01-01T00:00:10Z"));

  private static GhcrLike ghcr;

  @BeforeAll
  static void start() {
    ghcr = GhcrLike.start(GhcrLike.Options.DEFAULT.withClock(now::get));
  }

  @AfterAll
  static void stop() {
    ghcr.close();
  }

  // ----- a client that speaks the token protocol -----

  private static String token(GhcrLike g, String user, String password, String scope)
      throws Exception {
    HttpResponse<String> r = tokenResponse(g, user, password, scope);
    assertEquals(200, r.statusCode(), r.body());
    return "Bearer " + JSON.std.mapFrom(r.body()).get("token");
  }

  private static HttpResponse<String> tokenResponse(
      GhcrLike g, String user, String password, String scope) throws Exception {
    URI realm =
        URI.create(
            g.registry().tokenRealm()
                + "?service="
                + g.registry().tokenServiceName()
                + "&scope="
                + URLEncoder.encode(scope, StandardCharsets.UTF_8));
    HttpRequest.Builder b = HttpRequest.newBuilder(realm);
    if (user != null) {
      b.header(
          "Authorization",
          "Basic "
              + Base64.getEncoder()
                  .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String pushToken(GhcrLike g, String repo) throws Exception {
    return token(g, Registry.USER, Registry.PASSWORD, "repository:" + repo + ":pull,push");
  }

  private static HttpResponse<byte[]> send(
      GhcrLike g, String method, String target, String auth, byte[] body, String... headers)
      throws Exception {
    URI uri = target.startsWith("http") ? URI.create(target) : URI.create(g.baseUri() + target);
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (auth != null) {
      b.header("Authorization", auth);
    }
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  private static String errorCode(HttpResponse<byte[]> r) throws Exception {
    Map<String, Object> json = JSON.std.mapFrom(r.body());
    return (String) ((Map<?, ?>) ((List<?>) json.get("errors")).get(0)).get("code");
  }

  /** A monolithic upload (POST, PUT ?digest=) through the front. */
  private static String upload(GhcrLike g, String repo, String auth, byte[] bytes)
      throws Exception {
    HttpResponse<byte[]> post = send(g, "POST", "/v2/" + repo + "/blobs/uploads/", auth, null);
    assertEquals(202, post.statusCode(), text(post));
    String location = post.headers().firstValue("Location").orElseThrow();
    assertTrue(location.startsWith(g.baseUri().toString()), location);
    String digest = RawClient.digest(bytes);
    HttpResponse<byte[]> put =
        send(
            g,
            "PUT",
            location + (location.contains("?") ? "&" : "?") + "digest=" + digest,
            auth,
            bytes,
            "Content-Type",
            "application/octet-stream");
    assertEquals(201, put.statusCode(), text(put));
    return digest;
  }

  private static byte[] manifest(GhcrLike g, String repo, String auth) throws Exception {
    String config = upload(g, repo, auth, "{}".getBytes(StandardCharsets.UTF_8));
    return ("{\"schemaVersion\":2,\"mediaType\":\""
            + RawClient.OCI_MANIFEST
            + "\",\"config\":{\"mediaType\":"
            + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
            + config
            + "\",\"size\":2},\"layers\":[]}")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static HttpResponse<byte[]> putManifest(
      GhcrLike g, String repo, String tag, String auth, byte[] m) throws Exception {
    return send(
        g,
        "PUT",
        "/v2/" + repo + "/manifests/" + tag,
        auth,
        m,
        "Content-Type",
        RawClient.OCI_MANIFEST);
  }

  // ----- the behaviours -----

  @Test
  void newRepositoriesArePrivateUntilMadePublicAndPushNeedsAPusher() throws Exception {
    String repo = "ghcr/private";
    String auth = pushToken(ghcr, repo);
    String digest = upload(ghcr, repo, auth, "secret".getBytes(StandardCharsets.UTF_8));

    HttpResponse<String> anonymous =
        tokenResponse(ghcr, null, null, "repository:" + repo + ":pull");
    assertEquals(401, anonymous.statusCode(), anonymous.body());
    // Without a token, the registry's challenge names the token service's own origin.
    HttpResponse<byte[]> bare = send(ghcr, "GET", "/v2/" + repo + "/blobs/" + digest, null, null);
    assertEquals(401, bare.statusCode());
    String challenge = bare.headers().firstValue("WWW-Authenticate").orElseThrow();
    assertTrue(challenge.contains("realm=\"" + ghcr.registry().tokenRealm() + "\""), challenge);
    assertFalse(ghcr.registry().tokenRealm().contains(ghcr.address()));

    // A reader may pull a private package but not push to it.
    String reader =
        token(ghcr, Registry.READER, Registry.READER_PASSWORD, "repository:" + repo + ":pull,push");
    assertEquals(
        307, send(ghcr, "GET", "/v2/" + repo + "/blobs/" + digest, reader, null).statusCode());
    HttpResponse<byte[]> readerPush =
        send(ghcr, "POST", "/v2/" + repo + "/blobs/uploads/", reader, null);
    assertEquals(401, readerPush.statusCode(), text(readerPush));
    assertEquals(
        401,
        tokenResponse(ghcr, Registry.USER, "wrong", "repository:" + repo + ":push").statusCode());

    ghcr.makePublic(repo);
    String anon = token(ghcr, null, null, "repository:" + repo + ":pull");
    assertEquals(
        307, send(ghcr, "GET", "/v2/" + repo + "/blobs/" + digest, anon, null).statusCode());
    HttpResponse<byte[]> anonPush =
        send(ghcr, "POST", "/v2/" + repo + "/blobs/uploads/", anon, null);
    assertEquals(401, anonPush.statusCode());
  }

  @Test
  void blobsAreServedByStorageThroughAnExpiringUrlThatRefusesAuthorizationAndHead()
      throws Exception {
    String repo = "ghcr/blobs";
    String auth = pushToken(ghcr, repo);
    byte[] bytes = new byte[300_000];
    new Random(7).nextBytes(bytes);
    String digest = upload(ghcr, repo, auth, bytes);

    for (String method : List.of("GET", "HEAD")) {
      HttpResponse<byte[]> r = send(ghcr, method, "/v2/" + repo + "/blobs/" + digest, auth, null);
      assertEquals(307, r.statusCode(), method);
      String location = r.headers().firstValue("Location").orElseThrow();
      assertTrue(location.startsWith("http://" + ghcr.storageAddress() + "/"), location);
      assertTrue(location.contains("X-Expires=") && location.contains("X-Signature="), location);
    }
    String location =
        send(ghcr, "GET", "/v2/" + repo + "/blobs/" + digest, auth, null)
            .headers()
            .firstValue("Location")
            .orElseThrow();

    HttpResponse<byte[]> got = send(ghcr, "GET", location, null, null);
    assertEquals(200, got.statusCode());
    assertArrayEquals(bytes, got.body());

    HttpResponse<byte[]> withAuth = send(ghcr, "GET", location, auth, null);
    assertEquals(400, withAuth.statusCode());
    assertTrue(text(withAuth).contains("InvalidArgument"), text(withAuth));
    assertEquals(403, send(ghcr, "HEAD", location, null, null).statusCode());
    HttpResponse<byte[]> forged =
        send(ghcr, "GET", location.replace("X-Signature=", "X-Signature=00"), null, null);
    assertEquals(403, forged.statusCode());
    HttpResponse<byte[]> longer =
        send(ghcr, "GET", location.replaceAll("X-Expires=(\\d+)", "X-Expires=9$1"), null, null);
    assertEquals(403, longer.statusCode(), "a URL whose expiry was moved must not verify");

    Instant before = now.get();
    try {
      now.set(before.plusSeconds(299));
      assertEquals(200, send(ghcr, "GET", location, null, null).statusCode());
      now.set(before.plusSeconds(301));
      HttpResponse<byte[]> expired = send(ghcr, "GET", location, null, null);
      assertEquals(403, expired.statusCode());
      assertTrue(text(expired).contains("Request has expired"), text(expired));
    } finally {
      now.set(before);
    }

    // A blob the repository does not have: the registry's own 404, no redirect.
    String missing = "sha256:" + "0".repeat(64);
    assertEquals(
        404, send(ghcr, "GET", "/v2/" + repo + "/blobs/" + missing, auth, null).statusCode());
    assertEquals(
        404, send(ghcr, "HEAD", "/v2/" + repo + "/blobs/" + missing, auth, null).statusCode());
  }

  @Test
  void aPatchOverFourMibIsRefusedWith416AndGhcrsMessage() throws Exception {
    String repo = "ghcr/patch";
    String auth = pushToken(ghcr, repo);
    byte[] four = new byte[(int) GhcrLike.FOUR_MIB];
    byte[] over = new byte[(int) GhcrLike.FOUR_MIB + 1];

    String location =
        send(ghcr, "POST", "/v2/" + repo + "/blobs/uploads/", auth, null)
            .headers()
            .firstValue("Location")
            .orElseThrow();
    HttpResponse<byte[]> tooLarge =
        send(ghcr, "PATCH", location, auth, over, "Content-Type", "application/octet-stream");
    assertEquals(416, tooLarge.statusCode());
    assertEquals("REQUESTED_RANGE_NOT_SATISFIABLE", errorCode(tooLarge));
    assertTrue(text(tooLarge).contains(GhcrLike.PATCH_TOO_LARGE), text(tooLarge));

    // Without a length (chunked), the cap is met while streaming.
    String location2 =
        send(ghcr, "POST", "/v2/" + repo + "/blobs/uploads/", auth, null)
            .headers()
            .firstValue("Location")
            .orElseThrow();
    HttpRequest chunked =
        HttpRequest.newBuilder(URI.create(location2))
            .method(
                "PATCH",
                HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(over)))
            .header("Authorization", auth)
            .header("Content-Type", "application/octet-stream")
            .build();
    HttpResponse<String> chunkedAnswer = http.send(chunked, HttpResponse.BodyHandlers.ofString());
    assertEquals(416, chunkedAnswer.statusCode(), chunkedAnswer.body());

    // Exactly 4 MiB goes through, and the upload completes.
    String location3 =
        send(ghcr, "POST", "/v2/" + repo + "/blobs/uploads/", auth, null)
            .headers()
            .firstValue("Location")
            .orElseThrow();
    HttpResponse<byte[]> ok =
        send(ghcr, "PATCH", location3, auth, four, "Content-Type", "application/octet-stream");
    assertEquals(202, ok.statusCode(), text(ok));
    String next = ok.headers().firstValue("Location").orElseThrow();
    assertTrue(next.startsWith(ghcr.baseUri().toString()), next);
    HttpResponse<byte[]> put =
        send(
            ghcr,
            "PUT",
            next + (next.contains("?") ? "&" : "?") + "digest=" + RawClient.digest(four),
            auth,
            null);
    assertEquals(201, put.statusCode(), text(put));
  }

  @Test
  void tagListsComeInPagesOfAHundredWithLinks() throws Exception {
    String repo = "ghcr/tags";
    String auth = pushToken(ghcr, repo);
    byte[] m = manifest(ghcr, repo, auth);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 105; i++) {
      String tag = String.format("t%03d", i);
      assertEquals(201, putManifest(ghcr, repo, tag, auth, m).statusCode());
      expected.add(tag);
    }
    List<String> seen = new ArrayList<>();
    String target = "/v2/" + repo + "/tags/list?n=1000";
    int pages = 0;
    while (target != null) {
      HttpResponse<byte[]> r = send(ghcr, "GET", target, auth, null);
      assertEquals(200, r.statusCode(), text(r));
      @SuppressWarnings("unchecked")
      List<String> tags = (List<String>) JSON.std.mapFrom(r.body()).get("tags");
      assertTrue(tags.size() <= 100, "page of " + tags.size());
      seen.addAll(tags);
      pages++;
      Optional<String> link = r.headers().firstValue("Link");
      if (link.isPresent()) {
        assertEquals(
            "</v2/"
                + repo
                + "/tags/list?last="
                + tags.get(tags.size() - 1)
                + "&n=100>; rel=\"next\"",
            link.get());
        target = link.get().substring(1, link.get().indexOf('>'));
      } else {
        target = null;
      }
    }
    assertEquals(2, pages);
    assertEquals(expected, seen);
    // No n at all: also a page of 100.
    @SuppressWarnings("unchecked")
    List<String> first =
        (List<String>)
            JSON.std
                .mapFrom(send(ghcr, "GET", "/v2/" + repo + "/tags/list", auth, null).body())
                .get("tags");
    assertEquals(100, first.size());
  }

  @Test
  void deletesAreUnsupportedAndTagsOver128CharactersRefused() throws Exception {
    String repo = "ghcr/deletes";
    String auth =
        token(ghcr, Registry.USER, Registry.PASSWORD, "repository:" + repo + ":pull,push,delete");
    byte[] m = manifest(ghcr, repo, auth);
    HttpResponse<byte[]> put = putManifest(ghcr, repo, "x".repeat(128), auth, m);
    assertEquals(201, put.statusCode(), text(put));
    String digest = put.headers().firstValue("Docker-Content-Digest").orElseThrow();
    HttpResponse<byte[]> tooLong = putManifest(ghcr, repo, "x".repeat(129), auth, m);
    assertEquals(400, tooLong.statusCode());
    assertEquals("MANIFEST_INVALID", errorCode(tooLong));

    HttpResponse<byte[]> delete =
        send(ghcr, "DELETE", "/v2/" + repo + "/manifests/" + digest, auth, null);
    assertEquals(405, delete.statusCode());
    assertEquals("UNSUPPORTED", errorCode(delete));
    assertEquals(
        200,
        send(
                ghcr,
                "GET",
                "/v2/" + repo + "/manifests/" + digest,
                auth,
                null,
                "Accept",
                RawClient.OCI_MANIFEST)
            .statusCode(),
        "the manifest is still there");
  }

  @Test
  void uploadStartsAndPullsPastTheirLimitsGet429WithRetryAfter() throws Exception {
    AtomicReference<Instant> clock = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
    try (GhcrLike limited =
        GhcrLike.start(GhcrLike.Options.DEFAULT.withClock(clock::get).withRateLimits(2, 3))) {
      String repo = "ghcr/limits";
      String auth = pushToken(limited, repo);
      clock.set(Instant.parse("2026-01-01T00:00:15Z"));
      String digest = upload(limited, repo, auth, "a".getBytes(StandardCharsets.UTF_8));
      upload(limited, repo, auth, "b".getBytes(StandardCharsets.UTF_8));
      HttpResponse<byte[]> third =
          send(limited, "POST", "/v2/" + repo + "/blobs/uploads/", auth, null);
      assertEquals(429, third.statusCode());
      assertEquals("TOOMANYREQUESTS", errorCode(third));
      assertTrue(text(third).contains("allowed: 2/minute"), text(third));
      assertEquals("45", third.headers().firstValue("Retry-After").orElseThrow());
      // Other requests are not upload starts.
      assertEquals(200, send(limited, "GET", "/v2/", auth, null).statusCode());

      for (int i = 0; i < 3; i++) {
        assertEquals(
            307, send(limited, "GET", "/v2/" + repo + "/blobs/" + digest, auth, null).statusCode());
      }
      HttpResponse<byte[]> pull =
          send(limited, "HEAD", "/v2/" + repo + "/manifests/latest", auth, null);
      assertEquals(429, pull.statusCode());
      assertTrue(pull.headers().firstValue("Retry-After").isPresent());

      clock.set(Instant.parse("2026-01-01T00:01:00Z"));
      assertEquals(
          202, send(limited, "POST", "/v2/" + repo + "/blobs/uploads/", auth, null).statusCode());
      assertEquals(
          307, send(limited, "GET", "/v2/" + repo + "/blobs/" + digest, auth, null).statusCode());
    }
  }
}
