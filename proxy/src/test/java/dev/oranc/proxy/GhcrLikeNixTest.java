package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.GhcrLike;
import dev.oranc.testkit.LatencyProxy;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real Nix through the server against the ghcr.io stand-in ({@link GhcrLike}), once directly and
 * once behind a {@link LatencyProxy} adding 20 ms per round trip: {@code nix copy --to} with
 * credentials into a new (private) repository, anonymous reads refused until it is made public,
 * then anonymous substitution into a fresh store, every blob fetched from storage through a 307.
 */
class GhcrLikeNixTest {

  private static GhcrLike ghcr;
  private static TestServer server;

  @BeforeAll
  static void start() {
    ghcr = GhcrLike.start();
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    try {
      server.close();
    } finally {
      ghcr.close();
    }
  }

  @Test
  void nixCopiesToAndSubstitutesFromAGhcrLikeRegistry() throws Exception {
    roundTrip(ghcr.address(), "direct");
  }

  @Test
  void nixCopiesToAndSubstitutesFromAGhcrLikeRegistry20msAway() throws Exception {
    InetSocketAddress front = new InetSocketAddress("127.0.0.1", ghcr.baseUri().getPort());
    try (LatencyProxy wan = new LatencyProxy(front, Duration.ofMillis(20), 0)) {
      roundTrip(wan.address(), "wan");
      assertTrue(wan.connections() > 0, "nothing went through the latency proxy");
      assertTrue(
          wan.minimumHeldNanos() >= Duration.ofMillis(10).toNanos(),
          "held " + wan.minimumHeldNanos());
    }
  }

  private void roundTrip(String registryAddress, String label) throws Exception {
    String repo = "ghcr/nix" + UUID.randomUUID().toString().substring(0, 8);
    String cache = "http://127.0.0.1:" + server.port() + "/" + registryAddress + "/" + repo;
    Path temp = Files.createTempDirectory("oranc-ghcr-like");
    Path netrc = temp.resolve("netrc");
    Files.writeString(
        netrc,
        "machine 127.0.0.1 login " + Registry.USER + " password " + Registry.PASSWORD + "\n");
    List<String> withCredentials = List.of("--option", "netrc-file", netrc.toString());
    List<String> anonymous = List.of("--option", "netrc-file", temp.resolve("no-netrc").toString());
    Path fresh = temp.resolve("store");
    // Random bytes do not compress: a NAR over 4 MiB, so its upload must be split into PATCHes.
    Path bigFile = temp.resolve("oranc-ghcr-big-" + label);
    byte[] random = new byte[6 * 1024 * 1024];
    new Random(label.hashCode()).nextBytes(random);
    Files.write(bigFile, random);
    String big = Nix.run("nix-store", "--add", bigFile.toString()).strip();
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo a = nix.build("oranc-ghcr-a", "a " + label);
      Nix.StorePathInfo b = nix.build("oranc-ghcr-b", "b " + label, List.of(a.path(), big));
      Nix.KeyPair key = Nix.generateKey("oranc-ghcr-" + label);
      Path secret = temp.resolve("key.sec");
      Files.writeString(secret, key.secret());
      Nix.run("nix", "store", "sign", "--key-file", secret.toString(), "--recursive", b.path());

      ghcr.resetCounters();
      Nix.nix(withCredentials, "copy", "--to", cache, b.path());
      assertTrue(
          ghcr.served("registry", "POST", "/v2/" + repo + "/blobs/uploads/").size() > 0,
          "nothing was uploaded");
      List<GhcrLike.Served> patches =
          ghcr.served("registry", "PATCH", "/v2/" + repo + "/blobs/uploads/.*");
      assertTrue(
          patches.size() >= 2, "the 6 MiB NAR went up in fewer than two PATCHes: " + patches);
      assertTrue(patches.stream().allMatch(p -> p.status() == 202), patches.toString());

      // A new package is private: an anonymous reader gets nothing.
      String hash = b.path().substring("/nix/store/".length(), "/nix/store/".length() + 32);
      int status =
          server
              .get("/" + registryAddress + "/" + repo + "/" + hash + ".narinfo", null)
              .statusCode();
      assertTrue(
          status == 401 || status == 404, "anonymous narinfo of a private package: " + status);

      ghcr.makePublic(repo);
      ghcr.resetCounters();
      Nix.nix(
          anonymous,
          "copy",
          "--from",
          cache,
          "--to",
          fresh.toString(),
          "--trusted-public-keys",
          key.publicKey(),
          b.path());
      for (String p : List.of(a.path(), b.path(), big)) {
        Path copied = Path.of(fresh.toString(), p);
        assertTrue(Files.exists(copied), copied + " was not substituted");
        assertEquals(-1L, Files.mismatch(Path.of(p), copied), p);
      }
      // The blobs came from storage, without credentials, never through the registry.
      List<GhcrLike.Served> storage = ghcr.served("storage", "GET", "/blobs/sha256/[0-9a-f]{64}");
      assertFalse(storage.isEmpty(), "no blob was fetched from storage: " + ghcr.served());
      for (GhcrLike.Served s : storage) {
        assertEquals(200, s.status(), s.toString());
      }
      assertEquals(List.of(), ghcr.served("storage", "HEAD", ".*"), "HEAD sent to storage");
      List<GhcrLike.Served> refused = new ArrayList<>();
      for (GhcrLike.Served s : ghcr.served()) {
        if (s.status() >= 400 && s.status() != 401 && s.status() != 404) {
          refused.add(s);
        }
      }
      assertEquals(List.of(), refused, "answers that are neither a challenge nor a miss");

      // Everything is there: a second copy uploads nothing (its existence checks meet the 307s).
      ghcr.resetCounters();
      Nix.nix(withCredentials, "copy", "--to", cache, b.path());
      assertEquals(List.of(), ghcr.served("registry", "PATCH", ".*"));
      assertEquals(List.of(), ghcr.served("registry", "PUT", ".*"));

      // A NAR's HEAD and GET through the server, anonymously: the registry answers both with a 307.
      String narinfo =
          new String(
              server.get("/" + registryAddress + "/" + repo + "/" + hash + ".narinfo", null).body(),
              StandardCharsets.UTF_8);
      String narUrl =
          narinfo.lines().filter(l -> l.startsWith("URL: ")).findFirst().orElseThrow().substring(5);
      var narHead = server.head("/" + registryAddress + "/" + repo + "/" + narUrl, null);
      var narGet = server.get("/" + registryAddress + "/" + repo + "/" + narUrl, null);
      assertEquals(200, narGet.statusCode());
      assertEquals(200, narHead.statusCode(), "HEAD of a NAR whose blob HEAD is a 307 to storage");
      assertEquals(
          String.valueOf(narGet.body().length),
          narHead.headers().firstValue("Content-Length").orElse(null));
    } finally {
      Nix.exec(null, Duration.ofMinutes(1), List.of("nix-store", "--delete", big));
      Nix.deleteTree(temp);
    }
  }
}
