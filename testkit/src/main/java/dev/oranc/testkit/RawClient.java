package dev.oranc.testkit;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A minimal registry client for seeding and inspecting a test {@link Registry}, independent of
 * oranc's own client: the JDK's {@code HttpClient}, one request at a time, whole bodies in memory.
 * Speaks the distribution API directly to the registry (not through the counting proxy), and
 * answers 401 challenges the plain way: Basic credentials in {@link RegistryFlavour#BASIC}, the
 * token flow (realm, service and scope from the {@code Bearer} challenge) in {@link
 * RegistryFlavour#TOKEN}.
 *
 * <p>Its requests carry the User-Agent {@value TokenService#HARNESS_USER_AGENT}: the token service
 * does not count them, and {@link Registry#accessLog()} leaves them out, so seeding does not
 * disturb what a test counts.
 */
public final class RawClient {

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private static final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .followRedirects(HttpClient.Redirect.NEVER)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");

  private final URI base;
  private final RegistryFlavour flavour;
  private final String user;
  private final String password;

  /** Bearer tokens by the scope they were asked for. */
  private final Map<String, String> tokens = new ConcurrentHashMap<>();

  RawClient(URI base, RegistryFlavour flavour, String user, String password) {
    this.base = base;
    this.flavour = flavour;
    this.user = user;
    this.password = password;
  }

  /** A non-2xx answer the operation did not expect. */
  public static final class UnexpectedResponse extends RuntimeException {
    private final int status;
    private final String body;

    UnexpectedResponse(String request, int status, String body) {
      super(request + " answered " + status + (body.isBlank() ? "" : ": " + body.strip()));
      this.status = status;
      this.body = body;
    }

    public int status() {
      return status;
    }

    public String body() {
      return body;
    }
  }

  /** A response: status, headers (names lower-case), body. */
  public record Response(int status, Map<String, List<String>> headers, byte[] body) {
    public Optional<String> header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
    }

    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** {@code sha256:<hex>} of {@code bytes}. */
  public static String digest(byte[] bytes) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Uploads a blob (POST, then a monolithic PUT) and returns its digest. */
  public String putBlob(String repository, byte[] bytes) {
    String digest = digest(bytes);
    String scope = pushScope(repository);
    Response started =
        expect(
            request("POST", "/v2/" + repository + "/blobs/uploads/", Map.of(), null, scope),
            "POST blob upload to " + repository,
            202);
    String location =
        started.header("Location").orElseThrow(() -> new IllegalStateException("no Location"));
    URI upload = base.resolve(location);
    String separator = upload.getRawQuery() == null ? "?" : "&";
    URI put =
        URI.create(
            upload + separator + "digest=" + URLEncoder.encode(digest, StandardCharsets.UTF_8));
    expect(
        request("PUT", put, Map.of("Content-Type", "application/octet-stream"), bytes, scope),
        "PUT blob " + digest + " to " + repository,
        201);
    return digest;
  }

  public byte[] getBlob(String repository, String digest) {
    return expect(
            request(
                "GET",
                "/v2/" + repository + "/blobs/" + digest,
                Map.of(),
                null,
                pullScope(repository)),
            "GET blob " + digest + " from " + repository,
            200)
        .body();
  }

  public boolean hasBlob(String repository, String digest) {
    Response r =
        request(
            "HEAD",
            "/v2/" + repository + "/blobs/" + digest,
            Map.of(),
            null,
            pullScope(repository));
    if (r.status() == 404) {
      return false;
    }
    expect(r, "HEAD blob " + digest + " in " + repository, 200);
    return true;
  }

  /** Puts a manifest under a tag (or digest) and returns its digest. */
  public String putManifest(String repository, String reference, String mediaType, byte[] json) {
    Response r =
        expect(
            request(
                "PUT",
                "/v2/" + repository + "/manifests/" + reference,
                Map.of("Content-Type", mediaType),
                json,
                pushScope(repository)),
            "PUT manifest " + repository + ":" + reference,
            201);
    return r.header("Docker-Content-Digest").orElse(digest(json));
  }

  /** The manifest's bytes, or empty if the registry has no such manifest (or repository). */
  public Optional<byte[]> getManifest(String repository, String reference) {
    Response r =
        request(
            "GET",
            "/v2/" + repository + "/manifests/" + reference,
            Map.of(
                "Accept",
                String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)),
            null,
            pullScope(repository));
    if (r.status() == 404) {
      return Optional.empty();
    }
    return Optional.of(expect(r, "GET manifest " + repository + ":" + reference, 200).body());
  }

  /** Deletes a manifest by digest (the registry has {@code delete.enabled}). */
  public void deleteManifest(String repository, String digest) {
    expect(
        request(
            "DELETE",
            "/v2/" + repository + "/manifests/" + digest,
            Map.of(),
            null,
            "repository:" + repository + ":delete"),
        "DELETE manifest " + repository + "@" + digest,
        202);
  }

  /** The repository's tags, or an empty list if it does not exist. */
  @SuppressWarnings("unchecked")
  public List<String> tags(String repository) {
    Response r =
        request("GET", "/v2/" + repository + "/tags/list", Map.of(), null, pullScope(repository));
    if (r.status() == 404) {
      return List.of();
    }
    expect(r, "GET tags of " + repository, 200);
    try {
      Object tags = JSON.std.mapFrom(r.bodyText()).get("tags");
      return tags == null ? List.of() : List.copyOf((List<String>) tags);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read tags of " + repository + ": " + r.bodyText(), e);
    }
  }

  /**
   * Sends one request to the registry, answering an authentication challenge once. {@code
   * scopeHint} picks a cached token to try first (TOKEN flavour); may be null.
   */
  public Response request(
      String method, String path, Map<String, String> headers, byte[] body, String scopeHint) {
    return request(method, base.resolve(path), headers, body, scopeHint);
  }

  private Response request(
      String method, URI uri, Map<String, String> headers, byte[] body, String scopeHint) {
    String authorization =
        switch (flavour) {
          case ANONYMOUS -> null;
          case BASIC -> basic();
          case TOKEN -> {
            String token = scopeHint == null ? null : tokens.get(scopeHint);
            yield token == null ? null : "Bearer " + token;
          }
        };
    Response r = send(method, uri, headers, body, authorization);
    if (r.status() != 401) {
      return r;
    }
    String challenge = r.header("WWW-Authenticate").orElse("");
    if (challenge.regionMatches(true, 0, "Basic ", 0, 6)) {
      return user == null || authorization != null ? r : send(method, uri, headers, body, basic());
    }
    if (!challenge.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return r;
    }
    Map<String, String> params = new LinkedHashMap<>();
    Matcher m = CHALLENGE_PARAM.matcher(challenge);
    while (m.find()) {
      params.put(m.group(1), m.group(2));
    }
    String scope = params.getOrDefault("scope", "");
    String token = fetchToken(params.get("realm"), params.get("service"), scope);
    if (token == null) {
      return r;
    }
    tokens.put(scope, token);
    if (scopeHint != null) {
      tokens.put(scopeHint, token);
    }
    return send(method, uri, headers, body, "Bearer " + token);
  }

  /** A token from the realm, or null if the realm refused these credentials. */
  private String fetchToken(String realm, String service, String scope) {
    if (realm == null) {
      return null;
    }
    StringBuilder query =
        new StringBuilder("?service=")
            .append(URLEncoder.encode(service == null ? "" : service, StandardCharsets.UTF_8));
    for (String s : scope.isEmpty() ? new String[0] : scope.split(" ")) {
      query.append("&scope=").append(URLEncoder.encode(s, StandardCharsets.UTF_8));
    }
    Response r =
        send("GET", URI.create(realm + query), Map.of(), null, user == null ? null : basic());
    if (r.status() != 200) {
      return null;
    }
    try {
      Map<String, Object> json = JSON.std.mapFrom(r.bodyText());
      Object token = json.containsKey("token") ? json.get("token") : json.get("access_token");
      return (String) token;
    } catch (IOException e) {
      throw new UncheckedIOException("token service answered " + r.bodyText(), e);
    }
  }

  private String basic() {
    if (user == null) {
      return null;
    }
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static Response send(
      String method, URI uri, Map<String, String> headers, byte[] body, String authorization) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(TIMEOUT)
            .header("User-Agent", TokenService.HARNESS_USER_AGENT)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(b::header);
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    try {
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      Map<String, List<String>> lower = new LinkedHashMap<>();
      r.headers().map().forEach((k, v) -> lower.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
      return new Response(r.statusCode(), lower, r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(method + " " + withoutQuery(uri) + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static Response expect(Response r, String what, int status) {
    if (r.status() != status) {
      throw new UnexpectedResponse(what, r.status(), r.bodyText());
    }
    return r;
  }

  private static String withoutQuery(URI uri) {
    String s = uri.toString();
    int q = s.indexOf('?');
    return q < 0 ? s : s.substring(0, q);
  }

  private static String pullScope(String repository) {
    return "repository:" + repository + ":pull";
  }

  private static String pushScope(String repository) {
    return "repository:" + repository + ":pull,push";
  }
}
