package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The token flavour as a client sees it: challenges, the token service's grants, expiry, and the
 * counters. Requests here use a plain JDK client (not the harness's), so they are counted.
 */
class TokenRegistryTest {

  @RegisterExtension
  static final RegistryExtension extension = RegistryExtension.of(RegistryFlavour.TOKEN);

  private static final HttpClient http = HttpClient.newHttpClient();
  private static final String REPO = "testkit/token";

  private Registry registry;

  @BeforeEach
  void setUp() {
    registry = extension.get();
    registry.tokenPolicy(TokenPolicy.DEFAULT);
    registry.resetCounters();
  }

  @AfterEach
  void restorePolicy() {
    registry.tokenPolicy(TokenPolicy.DEFAULT);
  }

  private static HttpResponse<String> get(URI uri, String authorization) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("User-Agent", "token-test");
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private HttpResponse<String> token(String authorization, String... scopes) throws Exception {
    StringBuilder q =
        new StringBuilder(registry.tokenRealm())
            .append("?service=")
            .append(registry.tokenServiceName());
    for (String s : scopes) {
      q.append("&scope=").append(URLEncoder.encode(s, StandardCharsets.UTF_8));
    }
    return get(URI.create(q.toString()), authorization);
  }

  private static String tokenOf(HttpResponse<String> response) throws Exception {
    assertEquals(200, response.statusCode(), response.body());
    return (String) JSON.std.mapFrom(response.body()).get("token");
  }

  private URI blobUri(String digest) {
    return registry.baseUri().resolve("/v2/" + REPO + "/blobs/" + digest);
  }

  @Test
  void anonymousPullFollowsTheChallengeToAPullToken() throws Exception {
    byte[] blob = "public blob".getBytes(StandardCharsets.UTF_8);
    String digest = registry.putBlob(REPO, blob);

    HttpResponse<String> challenged = get(blobUri(digest), null);
    assertEquals(401, challenged.statusCode());
    String challenge = challenged.headers().firstValue("WWW-Authenticate").orElseThrow();
    assertTrue(challenge.startsWith("Bearer realm=\"" + registry.tokenRealm() + "\""), challenge);
    assertTrue(challenge.contains("service=\"" + registry.tokenServiceName() + "\""), challenge);
    assertTrue(challenge.contains("scope=\"repository:" + REPO + ":pull\""), challenge);

    String token = tokenOf(token(null, "repository:" + REPO + ":pull"));
    HttpResponse<String> pulled = get(blobUri(digest), "Bearer " + token);
    assertEquals(200, pulled.statusCode());
    assertEquals("public blob", pulled.body());

    assertEquals(1, registry.tokenRequests());
    TokenRequest request = registry.tokenRequestLog().get(0);
    assertTrue(request.anonymous());
    assertEquals(List.of("repository:" + REPO + ":pull"), request.granted());
  }

  @Test
  void anonymousPushGetsOnlyAPullToken() throws Exception {
    token(null, "repository:" + REPO + ":pull,push");
    assertEquals(
        List.of("repository:" + REPO + ":pull"), registry.tokenRequestLog().get(0).granted());
  }

  @Test
  void readerPullsButCannotPush() {
    String digest = registry.putBlob(REPO, "for the reader".getBytes(StandardCharsets.UTF_8));
    RawClient reader = registry.client(Registry.READER, Registry.READER_PASSWORD);
    assertArrayEquals(
        "for the reader".getBytes(StandardCharsets.UTF_8), reader.getBlob(REPO, digest));

    RawClient.UnexpectedResponse refused =
        assertThrows(
            RawClient.UnexpectedResponse.class,
            () -> reader.putBlob(REPO, "not allowed".getBytes(StandardCharsets.UTF_8)));
    // Distribution answers a token without the needed action with 401 insufficient_scope, not 403.
    assertEquals(401, refused.status());
    assertTrue(refused.body().contains("UNAUTHORIZED"), refused.body());
  }

  @Test
  void readerTokenIsRefusedWithInsufficientScope() throws Exception {
    String token =
        tokenOf(
            token(
                basic(Registry.READER, Registry.READER_PASSWORD),
                "repository:" + REPO + ":pull,push"));
    HttpResponse<String> post =
        http.send(
            HttpRequest.newBuilder(registry.baseUri().resolve("/v2/" + REPO + "/blobs/uploads/"))
                .header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(401, post.statusCode());
    assertTrue(
        post.headers()
            .firstValue("WWW-Authenticate")
            .orElseThrow()
            .contains("error=\"insufficient_scope\""),
        post.headers().map().toString());
  }

  @Test
  void userGetsWhatItAsksFor() throws Exception {
    String token =
        tokenOf(
            token(
                basic(Registry.USER, Registry.PASSWORD),
                "repository:" + REPO + ":pull,push",
                "repository:other/repo:delete,*"));
    assertEquals(
        List.of("repository:" + REPO + ":pull,push", "repository:other/repo:delete,*"),
        registry.tokenRequestLog().get(0).granted());
    assertEquals(Registry.USER, registry.tokenRequestLog().get(0).account());

    // The JWT carries what distribution 2.8 checks.
    SignedJWT jwt = SignedJWT.parse(token);
    assertEquals(JWSAlgorithm.ES256, jwt.getHeader().getAlgorithm());
    assertEquals(1, jwt.getHeader().getX509CertChain().size());
    Map<String, Object> claims = jwt.getJWTClaimsSet().toJSONObject();
    assertEquals(TokenService.ISSUER, claims.get("iss"));
    assertEquals(registry.tokenServiceName(), claims.get("aud"), "a plain string, as 2.8 wants");
    assertTrue(jwt.getJWTClaimsSet().getExpirationTime().getTime() > System.currentTimeMillis());
  }

  @Test
  void wrongPasswordIsRefusedByTheTokenService() throws Exception {
    HttpResponse<String> refused =
        token(basic(Registry.USER, "wrong"), "repository:" + REPO + ":pull");
    assertEquals(401, refused.statusCode());
    assertFalse(refused.body().contains("token\""), refused.body());
    assertEquals(1, registry.tokenRequests());
    assertEquals(401, registry.tokenRequestLog().get(0).status());
    assertEquals(Registry.USER, registry.tokenRequestLog().get(0).account());
  }

  @Test
  void expiredTokenIsRefusedAlthoughAdvertisedAsValid() throws Exception {
    String digest = registry.putBlob(REPO, "expiry".getBytes(StandardCharsets.UTF_8));
    registry.tokenPolicy(TokenPolicy.expired());

    HttpResponse<String> response = token(null, "repository:" + REPO + ":pull");
    assertEquals(300, ((Number) JSON.std.mapFrom(response.body()).get("expires_in")).intValue());
    HttpResponse<String> refused = get(blobUri(digest), "Bearer " + tokenOf(response));
    assertEquals(401, refused.statusCode());
    assertTrue(
        refused.headers().firstValue("WWW-Authenticate").orElseThrow().contains("invalid_token"),
        refused.headers().map().toString());

    registry.tokenPolicy(TokenPolicy.DEFAULT);
    String fresh = tokenOf(token(null, "repository:" + REPO + ":pull"));
    assertEquals(200, get(blobUri(digest), "Bearer " + fresh).statusCode());
  }

  @Test
  void expiresInCanBeLeftOutOrSetApart() throws Exception {
    registry.tokenPolicy(TokenPolicy.DEFAULT.withoutExpiresIn());
    Map<String, Object> without = JSON.std.mapFrom(token(null).body());
    assertNull(without.get("expires_in"));
    assertTrue(
        without.containsKey("token") && without.containsKey("access_token"), without.toString());

    registry.tokenPolicy(TokenPolicy.DEFAULT.withExpiresIn(3));
    Map<String, Object> with = JSON.std.mapFrom(token(null).body());
    assertEquals(3, ((Number) with.get("expires_in")).intValue());
    assertTrue(with.containsKey("issued_at"));
  }

  @Test
  void oneTokenServesManyOperationsAndTheCountersShowIt() throws Exception {
    String token =
        tokenOf(
            token(basic(Registry.USER, Registry.PASSWORD), "repository:" + REPO + ":pull,push"));
    byte[] blob = "counted".getBytes(StandardCharsets.UTF_8);
    String digest = RawClient.digest(blob);
    URI proxy = registry.proxyUri();
    for (int i = 0; i < 3; i++) {
      HttpResponse<Void> head =
          http.send(
              HttpRequest.newBuilder(proxy.resolve("/v2/" + REPO + "/blobs/" + digest))
                  .header("Authorization", "Bearer " + token)
                  .method("HEAD", HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      assertEquals(404, head.statusCode());
    }
    assertEquals(1, registry.tokenRequests());
    List<ProxiedRequest> heads = registry.proxiedRequests("HEAD", "/v2/testkit/token/blobs/.*");
    assertEquals(3, heads.size(), registry.proxiedRequests().toString());
    for (ProxiedRequest r : heads) {
      assertEquals("Bearer", r.authorizationScheme());
      assertEquals(404, r.status());
    }
    registry.resetCounters();
    assertEquals(0, registry.tokenRequests());
    assertEquals(List.of(), registry.proxiedRequests());
  }

  @Test
  void harnessTrafficIsNotCounted() {
    registry.putBlob(REPO, "seeded".getBytes(StandardCharsets.UTF_8));
    assertEquals(0, registry.tokenRequests());
    assertEquals(List.of(), registry.accessLog());
    assertEquals(List.of(), registry.proxiedRequests());
  }
}
