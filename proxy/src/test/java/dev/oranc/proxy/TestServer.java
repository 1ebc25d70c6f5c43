package dev.oranc.proxy;

import dev.oranc.common.net.HostPattern;
import dev.oranc.common.registry.config.RegistryClientConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** An {@link OrancServer} on a loopback port for one test class, and a JDK HTTP client for it. */
final class TestServer implements AutoCloseable {

  final OrancServer server;
  final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  /**
   * Waits (up to 5 s) until no download or upload is counted in flight. A stream ends in the server
   * when the registry's end of message is handled, which may come a moment after the client has
   * read the last byte of a Content-Length body: callers then assert the counts as usual.
   */
  void awaitStreamsSettled() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while ((server.metrics().uploads().get() != 0 || server.metrics().downloads().get() != 0)
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
  }

  private TestServer(OrancServer server) {
    this.server = server;
  }

  /**
   * The loopback registries tests run, as {@code --allow-registry} names them: served, and exempt
   * from the address policy (which refuses loopback otherwise).
   */
  static final List<HostPattern> LOOPBACK_REGISTRIES =
      List.of(
          HostPattern.parse("127.0.0.1"),
          HostPattern.parse("localhost"),
          HostPattern.parse("[::1]"));

  /**
   * A server talking plain HTTP to registries, with quick retries, serving the loopback registries
   * ({@link #LOOPBACK_REGISTRIES}); {@code tweak} adjusts it.
   */
  static TestServer start(Consumer<ServerConfig.Builder> tweak) {
    return start(tweak, registry -> {});
  }

  /**
   * A server as {@link #start(Consumer)} makes it, whose registry client {@code registry} adjusts
   * (plain HTTP, 2 attempts, a 10 s read timeout and 10–50 ms backoff unless it says otherwise):
   * the fault tests shorten the timeout, the backoff and the longest {@code Retry-After} waited.
   */
  static TestServer start(
      Consumer<ServerConfig.Builder> tweak, Consumer<RegistryClientConfig.Builder> registry) {
    RegistryClientConfig.Builder client =
        RegistryClientConfig.builder()
            .tls(false)
            .maxAttempts(2)
            .readTimeout(Duration.ofSeconds(10))
            .backoff(Duration.ofMillis(10), Duration.ofMillis(50));
    registry.accept(client);
    ServerConfig.Builder b =
        ServerConfig.builder()
            .listen(new InetSocketAddress("127.0.0.1", 0))
            .threads(2)
            .shutdownGrace(Duration.ofSeconds(2))
            .allowRegistries(LOOPBACK_REGISTRIES)
            .registry(client.build());
    tweak.accept(b);
    return new TestServer(OrancServer.start(b.build()));
  }

  /**
   * A server for a misbehaving registry: a read timeout of {@code readTimeout}, 10–20 ms backoff, a
   * {@code Retry-After} waited for at most 1 s.
   */
  static TestServer forFaults(Duration readTimeout) {
    return start(
        b -> {},
        registry ->
            registry
                .readTimeout(readTimeout)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(20))
                .maxRetryAfter(Duration.ofSeconds(1)));
  }

  static TestServer start() {
    return start(b -> {});
  }

  int port() {
    return server.address().getPort();
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port() + path);
  }

  static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  HttpResponse<byte[]> send(
      String method, String path, byte[] body, String authorization, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(path))
            .timeout(Duration.ofSeconds(60))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  HttpResponse<byte[]> get(String path, String authorization)
      throws IOException, InterruptedException {
    return send("GET", path, null, authorization);
  }

  HttpResponse<byte[]> head(String path, String authorization)
      throws IOException, InterruptedException {
    return send("HEAD", path, null, authorization);
  }

  HttpResponse<byte[]> put(String path, byte[] body, String authorization, String... headers)
      throws IOException, InterruptedException {
    return send("PUT", path, body, authorization, headers);
  }

  static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    server.close();
  }
}
