package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Keys of any length through the server and the real registry (issue 15, points 1 and 2): a key
 * whose tag would be over 128 characters is stored under its hashed tag, read back only from a
 * manifest that names it, and listed as a valid OCI tag (checked by the registry's own listing and
 * by skopeo); a GET or HEAD of a key that cannot exist is a 404, a PUT of it a 400.
 */
class LongKeyTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final Pattern OCI_TAG = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  private static final String SKOPEO = "/usr/bin/skopeo";
  private static final int DEADLINE_MILLIS = 10_000;

  /**
   * 248 characters, the longest {@code log/} key Nix makes: a derivation name of 211 characters
   * with {@code .drv}. Its {@code +} and {@code _} cost 3 and 4 characters each in the custom
   * encoding.
   */
  static final String LOG_KEY =
      "log/0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5-" + "gtk+3_" + "x".repeat(201) + ".drv";

  private static TestServer server;
  private static Registry registry;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    registry = registries.get();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String freshRepository() {
    return "test/long" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void aLogKeyOf248CharactersIsStoredUnderItsHashedTagAndReadBack(@TempDir Path home)
      throws Exception {
    assertEquals(248, LOG_KEY.length());
    String repo = freshRepository();
    String base = "/" + registry.address() + "/" + repo;
    byte[] log = "building '/nix/store/…'\n".getBytes(StandardCharsets.UTF_8);

    HttpResponse<byte[]> put =
        server.put(base + "/" + LOG_KEY, log, null, "Content-Type", "text/plain; charset=utf-8");
    assertEquals(200, put.statusCode(), TestServer.text(put));
    assertEquals(
        200,
        server
            .put(base + "/nix-cache-info", "StoreDir: /nix/store\n".getBytes(), null)
            .statusCode());

    HttpResponse<byte[]> get = server.get(base + "/" + LOG_KEY, null);
    assertEquals(200, get.statusCode(), TestServer.text(get));
    assertArrayEquals(log, get.body());
    assertEquals(
        "text/plain; charset=utf-8", get.headers().firstValue("Content-Type").orElse(null));
    HttpResponse<byte[]> head = server.head(base + "/" + LOG_KEY, null);
    assertEquals(200, head.statusCode());
    assertEquals(
        String.valueOf(log.length), head.headers().firstValue("Content-Length").orElse(null));

    // The registry's own listing (GET /v2/<repo>/tags/list): the hashed tag and the short key's
    // tag, every one a valid OCI tag.
    String hashed = TagCodec.hashedTag(LOG_KEY).value();
    List<String> tags = registry.tags(repo);
    assertEquals(
        List.of(hashed, "nix-cache-info").stream().sorted().toList(),
        tags.stream().sorted().toList());
    for (String tag : tags) {
      assertTrue(OCI_TAG.matcher(tag).matches(), tag);
    }
    // The full key is in the manifest, as for every key.
    Map<String, Object> manifest =
        JSON.std.mapFrom(registry.getManifest(repo, hashed).orElseThrow());
    Map<?, ?> annotations = (Map<?, ?>) manifest.get("annotations");
    assertEquals(LOG_KEY, annotations.get("com.linyinfeng.oranc.key"));
    assertEquals(LOG_KEY, annotations.get("org.opencontainers.image.description"));

    // An independent OCI client lists the repository without complaint.
    assertEquals(
        tags.stream().sorted().toList(), skopeoListTags(home, repo).stream().sorted().toList());
  }

  @Test
  void aManifestOfAnotherKeyUnderAHashedTagIsA502NamingBothKeysAndNeverItsBytes() throws Exception {
    String repo = freshRepository();
    String base = "/" + registry.address() + "/" + repo;
    String other = "log/1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q6r-other.drv";
    byte[] secret = "another key's bytes".getBytes(StandardCharsets.UTF_8);
    assertEquals(
        200,
        server.put(base + "/" + other, secret, null, "Content-Type", "text/plain").statusCode());
    // Plant the other key's manifest, byte for byte, under the long key's hashed tag.
    byte[] planted =
        registry.getManifest(repo, TagCodec.DEFAULT.writeTag(other).value()).orElseThrow();
    registry.putManifest(
        repo,
        TagCodec.hashedTag(LOG_KEY).value(),
        "application/vnd.oci.image.manifest.v1+json",
        planted);

    HttpResponse<byte[]> get = server.get(base + "/" + LOG_KEY, null);
    String body = TestServer.text(get);
    assertEquals(502, get.statusCode(), body);
    assertTrue(body.contains(LOG_KEY), body);
    assertTrue(body.contains(other), body);
    assertFalse(body.contains("another key's bytes"), body);
    assertEquals(502, server.head(base + "/" + LOG_KEY, null).statusCode());
    // The other key itself still reads.
    assertArrayEquals(secret, server.get(base + "/" + other, null).body());
  }

  private static String sigV4() {
    String id = Base64.getEncoder().encodeToString("u:p".getBytes(StandardCharsets.UTF_8));
    return "AWS4-HMAC-SHA256 Credential="
        + id
        + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
  }

  private static RawHttp.Response send(String method, String target, String... headers)
      throws Exception {
    try (RawHttp c = new RawHttp(server.port(), DEADLINE_MILLIS)) {
      c.write(
          method
              + " "
              + target
              + " HTTP/1.1\r\nHost: x\r\n"
              + String.join("", headers)
              + (method.equals("PUT") ? "Content-Length: 0\r\n" : "")
              + "\r\n");
      RawHttp.Response r = c.read(method.equals("HEAD"));
      assertNotNull(r, method + " " + target + ": no answer");
      return r;
    }
  }

  /** Keys nothing can store: a bad escape, bytes that are not UTF-8, control characters. */
  @ParameterizedTest
  @ValueSource(
      strings = {"%ZZ", "a%4", "%C3%28", "%ED%A0%80", "a%00b", "a%0D%0Ab", "log/a%1B%5B31m"})
  void aKeyThatCannotExistIsNotFoundForReadsAndABadRequestForAPut(String key) throws Exception {
    String target = "/" + registry.address() + "/" + freshRepository() + "/" + key;

    RawHttp.Response get = send("GET", target);
    assertEquals(404, get.status(), get.toString());
    assertEquals(1, get.text().strip().lines().count(), get.text());
    assertEquals(404, send("HEAD", target).status());

    RawHttp.Response s3 =
        send(
            "GET",
            target,
            "Authorization: " + sigV4() + "\r\n",
            "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n");
    assertEquals(404, s3.status(), s3.toString());
    assertTrue(s3.text().contains("<Code>NoSuchKey</Code>"), s3.text());
    assertEquals(404, send("HEAD", target, "Authorization: " + sigV4() + "\r\n").status());

    RawHttp.Response put = send("PUT", target);
    assertEquals(400, put.status(), put.toString());
    assertTrue(put.text().contains("key") || put.text().contains("path segment"), put.text());
  }

  @Test
  void aMalformedRegistryRepositoryOrHeaderStaysABadRequest() throws Exception {
    String repo = freshRepository();
    assertEquals(400, send("GET", "/" + registry.address() + "%ZZ/" + repo + "/k").status());
    assertEquals(400, send("GET", "/" + registry.address() + "/test/a%00/k").status());
    assertEquals(
        400, send("GET", "/" + registry.address() + "/" + repo + "/k?repository=%ZZ").status());
    // A bad Authorization header is reported even when the key cannot exist either.
    assertEquals(
        400,
        send("GET", "/" + registry.address() + "/" + repo + "/%ZZ", "Authorization: Basic !!\r\n")
            .status());
  }

  private static List<String> skopeoListTags(Path home, String repo) throws Exception {
    List<String> argv =
        List.of(
            SKOPEO,
            "list-tags",
            "--tls-verify=false",
            "docker://" + registry.address() + "/" + repo);
    Path out = home.resolve("skopeo-out.json");
    Path err = home.resolve("skopeo-err.txt");
    ProcessBuilder pb =
        new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("HOME", home.toString());
    pb.environment().put("XDG_RUNTIME_DIR", home.toString());
    Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", argv) + " did not finish in 60 s");
    }
    assertEquals(0, p.exitValue(), String.join(" ", argv) + ":\n" + Files.readString(err));
    Map<String, Object> listing = JSON.std.mapFrom(Files.readAllBytes(out));
    List<String> tags = new ArrayList<>();
    for (Object t : (List<?>) listing.get("Tags")) {
      tags.add((String) t);
    }
    return tags;
  }
}
