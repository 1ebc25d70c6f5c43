package dev.oranc.retention;

import com.fasterxml.jackson.jr.ob.JSON;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.oranc.testkit.RawClient;
import dev.oranc.testkit.Registry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in for GitHub's packages REST API over a real registry, following GitHub's documented
 * requests and answers (ghcr.io cannot be reached from here): a user-owned container package
 * ({@code /orgs/…} answers 404), versions listed {@link #PAGE} a page with {@code Link} headers,
 * each version's {@code name} its manifest digest and its tags under {@code
 * metadata.container.tags}; {@code DELETE …/versions/{id}} deletes the manifest in the registry and
 * answers 204, an unknown id 404, a version marked undeletable 400 with GitHub's message. Only
 * {@code Authorization: Bearer TOKEN} is accepted.
 */
final class GithubStandIn implements AutoCloseable {

  static final int PAGE = 3;

  private final HttpServer server;
  private final Registry registry;
  private final RawClient registryClient;
  private final String token;
  private final Map<String, Long> ids = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong(1000);
  final Set<String> undeletable = ConcurrentHashMap.newKeySet();
  final List<String> requests = new CopyOnWriteArrayList<>();

  GithubStandIn(Registry registry, String token) throws IOException {
    this.registry = registry;
    this.registryClient = registry.client();
    this.token = token;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  URI api() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      URI uri = exchange.getRequestURI();
      requests.add(method + " " + uri);
      if (!("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
        send(exchange, 401, Map.of("message", "Bad credentials"));
        return;
      }
      String path = uri.getRawPath();
      if (path.startsWith("/orgs/")) {
        send(exchange, 404, Map.of("message", "Not Found"));
        return;
      }
      // /users/{owner}/packages/container/{package}/versions[/{id}]
      String[] parts = path.split("/");
      if (parts.length < 7
          || !parts[1].equals("users")
          || !parts[3].equals("packages")
          || !parts[4].equals("container")
          || !parts[6].equals("versions")) {
        send(exchange, 404, Map.of("message", "Not Found"));
        return;
      }
      String repository = parts[2] + "/" + URLDecoder.decode(parts[5], StandardCharsets.UTF_8);
      if (method.equals("GET") && parts.length == 7) {
        list(exchange, repository, uri);
      } else if (method.equals("DELETE") && parts.length == 8) {
        delete(exchange, repository, Long.parseLong(parts[7]));
      } else {
        send(exchange, 404, Map.of("message", "Not Found"));
      }
    }
  }

  /** The package's versions: one per distinct manifest the registry has tagged. */
  private Map<String, List<String>> versions(String repository) {
    Map<String, List<String>> byDigest = new LinkedHashMap<>();
    for (String tag : registry.tags(repository)) {
      Optional<byte[]> m = registryClient.getManifest(repository, tag);
      m.ifPresent(
          bytes ->
              byDigest.computeIfAbsent(RawClient.digest(bytes), d -> new ArrayList<>()).add(tag));
    }
    return byDigest;
  }

  private long id(String digest) {
    return ids.computeIfAbsent(digest, d -> nextId.getAndIncrement());
  }

  private void list(HttpExchange exchange, String repository, URI uri) throws IOException {
    int page = 1;
    String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
    for (String p : query.split("&")) {
      if (p.startsWith("page=")) {
        page = Integer.parseInt(p.substring(5));
      }
    }
    List<Map<String, Object>> all = new ArrayList<>();
    for (Map.Entry<String, List<String>> v : versions(repository).entrySet()) {
      Map<String, Object> version = new LinkedHashMap<>();
      version.put("id", id(v.getKey()));
      version.put("name", v.getKey());
      version.put("package_type", "container");
      version.put(
          "metadata",
          Map.of("package_type", "container", "container", Map.of("tags", v.getValue())));
      all.add(version);
    }
    int from = Math.min(all.size(), (page - 1) * PAGE);
    int to = Math.min(all.size(), from + PAGE);
    if (to < all.size()) {
      exchange
          .getResponseHeaders()
          .add(
              "Link",
              "<"
                  + api()
                  + uri.getRawPath()
                  + "?per_page="
                  + PAGE
                  + "&page="
                  + (page + 1)
                  + ">; rel=\"next\", <"
                  + api()
                  + uri.getRawPath()
                  + "?page=1>; rel=\"first\"");
    }
    send(exchange, 200, all.subList(from, to));
  }

  private void delete(HttpExchange exchange, String repository, long id) throws IOException {
    String digest = null;
    for (Map.Entry<String, Long> e : ids.entrySet()) {
      if (e.getValue() == id) {
        digest = e.getKey();
      }
    }
    if (digest == null || !versions(repository).containsKey(digest)) {
      send(exchange, 404, Map.of("message", "Not Found"));
      return;
    }
    if (undeletable.contains(digest)) {
      send(
          exchange,
          400,
          Map.of(
              "message",
              "You cannot delete a public package version with more than 5000 downloads."));
      return;
    }
    registryClient.deleteManifest(repository, digest);
    exchange.sendResponseHeaders(204, -1);
  }

  private static void send(HttpExchange exchange, int status, Object json) throws IOException {
    byte[] body = JSON.std.asBytes(json);
    exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
