package dev.oranc.retention.github;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.error.RegistryException;
import dev.oranc.retention.RetentionException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The versions of one container package on GitHub (ghcr.io), through GitHub's packages REST API:
 * ghcr.io refuses the OCI API's manifest DELETE, so there a cache key is deleted by deleting the
 * package version whose {@code name} is the key's manifest digest.
 *
 * <ul>
 *   <li>list: {@code GET {api}/{orgs|users}/{owner}/packages/container/{package}/versions
 *       ?per_page=100}, pages by {@code Link: <…>; rel="next"};
 *   <li>delete: {@code DELETE …/versions/{id}}, 204; 404 is gone already.
 * </ul>
 *
 * <p>The owner is tried as an organisation first, then as a user. The token ({@code
 * ORANC_PASSWORD}) needs {@code read:packages} and {@code delete:packages}; it is sent only to the
 * API's own origin (redirects are not followed) and never logged. A version GitHub will not delete
 * (400/422, e.g. a public version downloaded more than 5,000 times) fails with GitHub's message.
 * Written against GitHub's documented request and answer shapes and tested against a stand-in that
 * follows them: ghcr.io itself cannot be reached from the test machines.
 */
public final class GithubPackages {

  public static final URI DEFAULT_API = URI.create("https://api.github.com");
  static final int PAGE = 100;
  static final int MAX_BODY = 16 << 20;
  private static final Pattern LINK = Pattern.compile("<([^>]*)>\\s*;[^,]*rel=\"?next\"?");

  private final HttpClient http;
  private final URI api;
  private final String owner;
  private final String packageName;
  private final String token;
  private volatile String ownerPath;

  /**
   * @param repository {@code owner/package}, the ghcr.io repository; a package name with slashes
   *     ({@code owner/a/b}) is sent percent-encoded, as GitHub expects
   */
  public GithubPackages(HttpClient http, URI api, String repository, String token) {
    this.http = Objects.requireNonNull(http, "http");
    this.api = Objects.requireNonNull(api, "api");
    int slash = repository.indexOf('/');
    if (slash <= 0 || slash == repository.length() - 1) {
      throw new IllegalArgumentException("repository '" + repository + "': expected OWNER/PACKAGE");
    }
    this.owner = repository.substring(0, slash);
    this.packageName = repository.substring(slash + 1);
    if (token == null || token.isEmpty()) {
      throw new RetentionException(
          "deleting on ghcr.io goes through GitHub's API, which needs a token: set ORANC_PASSWORD"
              + " to a token with read:packages and delete:packages");
    }
    this.token = token;
  }

  public static HttpClient newHttpClient() {
    return HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(30))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  /** Every version's id by its name (the manifest digest, {@code sha256:…}). */
  public Map<String, Long> versionIds() throws InterruptedException {
    Map<String, Long> ids = new HashMap<>();
    URI next = versionsUri("?per_page=" + PAGE);
    for (int page = 1; next != null; page++) {
      String operation =
          "GET package versions " + owner + "/" + packageName + " (page " + page + ")";
      HttpResponse<byte[]> r = send(operation, HttpRequest.newBuilder(next).GET());
      if (r.statusCode() != 200) {
        throw error(operation, r);
      }
      try {
        for (Object v : JSON.std.listFrom(r.body())) {
          if (v instanceof Map<?, ?> m
              && m.get("name") instanceof String name
              && m.get("id") instanceof Number id) {
            ids.put(name, id.longValue());
          }
        }
      } catch (IOException e) {
        throw new RegistryException.Protocol(
            operation, "the answer is not a JSON list of versions");
      }
      next = nextPage(r.headers().allValues("Link"));
      if (next != null && !sameOrigin(next, api)) {
        throw new RegistryException.Protocol(
            operation, "the next page is on another host: " + next.getHost());
      }
    }
    return ids;
  }

  /** Deletes version {@code id}: true when deleted, false when it was gone already (404). */
  public boolean delete(long id) throws InterruptedException {
    String operation = "DELETE package version " + owner + "/" + packageName + " " + id;
    HttpResponse<byte[]> r =
        send(operation, HttpRequest.newBuilder(versionsUri("/" + id)).DELETE());
    if (r.statusCode() == 204 || r.statusCode() == 200) {
      return true;
    }
    if (r.statusCode() == 404) {
      return false;
    }
    throw error(operation, r);
  }

  private URI versionsUri(String suffix) throws InterruptedException {
    String base =
        "/packages/container/"
            + URLEncoder.encode(packageName, StandardCharsets.UTF_8)
            + "/versions";
    return api.resolve(ownerPath() + base + suffix);
  }

  /**
   * {@code /orgs/OWNER} when the owner is an organisation with this package, else {@code
   * /users/OWNER}.
   */
  private String ownerPath() throws InterruptedException {
    String p = ownerPath;
    if (p != null) {
      return p;
    }
    String encodedOwner = URLEncoder.encode(owner, StandardCharsets.UTF_8);
    String org = "/orgs/" + encodedOwner;
    URI probe =
        api.resolve(
            org + "/packages/container/" + URLEncoder.encode(packageName, StandardCharsets.UTF_8));
    HttpResponse<byte[]> r =
        send("GET package " + owner + "/" + packageName, HttpRequest.newBuilder(probe).GET());
    if (r.statusCode() == 200) {
      p = org;
    } else if (r.statusCode() == 404) {
      p = "/users/" + encodedOwner;
    } else {
      throw error("GET package " + owner + "/" + packageName, r);
    }
    ownerPath = p;
    return p;
  }

  private HttpResponse<byte[]> send(String operation, HttpRequest.Builder request)
      throws InterruptedException {
    try {
      return http.send(
          request
              .header("Authorization", "Bearer " + token)
              .header("Accept", "application/vnd.github+json")
              .header("X-GitHub-Api-Version", "2022-11-28")
              .timeout(Duration.ofMinutes(2))
              .build(),
          HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new RegistryException.Unavailable(
          operation,
          "cannot reach " + api.getHost() + ": " + e.getMessage(),
          RegistryException.Unavailable.Reason.UNREACHABLE,
          0,
          e);
    }
  }

  static RegistryException error(String operation, HttpResponse<byte[]> r) {
    int status = r.statusCode();
    String message = message(r.body());
    String detail = "GitHub answered " + status + (message.isEmpty() ? "" : " (" + message + ")");
    Optional<String> retryAfter = r.headers().firstValue("Retry-After");
    boolean exhausted =
        r.headers().firstValue("x-ratelimit-remaining").map("0"::equals).orElse(false);
    if (status == 429 || ((status == 403) && (retryAfter.isPresent() || exhausted))) {
      long seconds =
          retryAfter
              .map(GithubPackages::seconds)
              .orElseGet(
                  () ->
                      r.headers()
                          .firstValue("x-ratelimit-reset")
                          .map(GithubPackages::seconds)
                          .map(reset -> Math.max(0, reset - System.currentTimeMillis() / 1000))
                          .orElse(-1L));
      return new RegistryException.RateLimited(operation, detail, seconds);
    }
    return switch (status) {
      case 401 -> new RegistryException.Unauthorized(operation, detail + "; the token was refused");
      case 403 ->
          new RegistryException.Forbidden(
              operation,
              detail
                  + "; the token needs read:packages and delete:packages, and admin rights on the"
                  + " package");
      case 404 -> new RegistryException.NotFound(operation, detail);
      default ->
          status >= 500
              ? new RegistryException.Unavailable(
                  operation,
                  detail,
                  RegistryException.Unavailable.Reason.SERVER_ERROR,
                  status,
                  null)
              : new RegistryException.Protocol(operation, "GitHub will not: " + detail);
    };
  }

  private static long seconds(String v) {
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String message(byte[] body) {
    try {
      Map<String, Object> m = JSON.std.mapFrom(body);
      if (m != null && m.get("message") instanceof String s) {
        String line = s.replaceAll("[\\r\\n\\t]+", " ");
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
      }
    } catch (IOException | RuntimeException e) {
      // not GitHub's error shape
    }
    return "";
  }

  static URI nextPage(List<String> links) {
    for (String header : links) {
      Matcher m = LINK.matcher(header);
      if (m.find()) {
        return URI.create(m.group(1));
      }
    }
    return null;
  }

  private static boolean sameOrigin(URI a, URI b) {
    return Objects.equals(a.getScheme(), b.getScheme())
        && Objects.equals(a.getHost(), b.getHost())
        && a.getPort() == b.getPort();
  }
}
