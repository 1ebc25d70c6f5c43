package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.GhcrLike;
import dev.oranc.testkit.LatencyProxy;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole life of a cache on the ghcr.io stand-in ({@link GhcrLike}), with the packaged launcher,
 * the registry 20 ms away behind a {@link LatencyProxy}: {@code oranc push} with credentials into a
 * new (private) package, which also writes its {@code nix-cache-info}, including a NAR over 4 MiB
 * (so its upload must be split into PATCHes ghcr.io accepts); the package made public; {@code oranc
 * server}; real Nix substitutes the deleted closure anonymously, every blob through a 307 to
 * storage.
 */
class GhcrLikeRoundTripIT {

  private static GhcrLike ghcr;

  @BeforeAll
  static void start() {
    ghcr = GhcrLike.start();
  }

  @AfterAll
  static void stop() {
    ghcr.close();
  }

  @Test
  void pushMakePublicAndSubstituteAnonymouslyThroughTheServer(@TempDir Path tmp) throws Exception {
    String repo = "owner/cache";
    Nix.KeyPair key = Nix.generateKey("oranc-ghcr-it");
    Path bigFile = tmp.resolve("oranc-ghcr-it-big");
    byte[] random = new byte[6 * 1024 * 1024];
    new Random(11).nextBytes(random);
    Files.write(bigFile, random);
    String big = Nix.run("nix-store", "--add", bigFile.toString()).strip();
    InetSocketAddress front = new InetSocketAddress("127.0.0.1", ghcr.baseUri().getPort());
    try (Nix nix = new Nix();
        LatencyProxy wan = new LatencyProxy(front, Duration.ofMillis(20), 0);
        ServerProcess server = ServerProcess.start()) {
      String cache = server.cacheUrl(wan.address(), repo);

      Nix.StorePathInfo dep = nix.build("oranc-ghcr-it-dep", "a dependency", List.of(big));
      Nix.StorePathInfo top = nix.buildTree("oranc-ghcr-it-top", "the top", List.of(dep.path()));
      List<String> closure = PushThroughServerIT.lines(Nix.run("nix-store", "-qR", top.path()));
      assertEquals(3, closure.size(), closure.toString());

      Map<String, String> env =
          Map.of(
              "ORANC_SIGNING_KEY",
              key.secret(),
              "ORANC_USERNAME",
              Registry.USER,
              "ORANC_PASSWORD",
              Registry.PASSWORD);
      // No 'push initialize': the push writes nix-cache-info into the empty cache and says so.
      PushThroughServerIT.Run push =
          PushThroughServerIT.oranc(
              env,
              top.path() + "\n",
              "push",
              "--registry",
              wan.address(),
              "--repository",
              repo,
              "--no-ssl",
              "-e",
              "^$");
      assertEquals(0, push.exit(), push.err());
      assertTrue(push.err().contains("pushed 3 paths"), push.err());
      assertTrue(push.err().contains("the cache had no nix-cache-info: wrote it"), push.err());
      List<GhcrLike.Served> patches =
          ghcr.served("registry", "PATCH", "/v2/" + repo + "/blobs/uploads/.*");
      assertTrue(
          patches.size() >= 2, "the 6 MiB NAR went up in fewer than two PATCHes: " + patches);
      assertTrue(patches.stream().allMatch(p -> p.status() == 202), patches.toString());

      // Gone from the local store, then back from the cache, anonymously, once it is public.
      List<String> built = new ArrayList<>(nix.builtPaths());
      Collections.reverse(built);
      built.add(big);
      List<String> delete = new ArrayList<>(List.of("nix-store", "--delete"));
      delete.addAll(built);
      Nix.Result deleted = Nix.exec(null, Duration.ofMinutes(1), delete);
      assertTrue(deleted.succeeded(), deleted.stderr());
      for (String p : closure) {
        assertFalse(Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS), p);
      }
      List<String> realise =
          List.of(
              "nix-store",
              "--realise",
              top.path(),
              "--option",
              "substituters",
              cache,
              "--option",
              "trusted-public-keys",
              key.publicKey(),
              "--option",
              "netrc-file",
              tmp.resolve("no-netrc").toString(),
              "--option",
              "narinfo-cache-negative-ttl",
              "0");
      Nix.Result privateRead = Nix.exec(null, Duration.ofMinutes(2), realise);
      assertFalse(privateRead.succeeded(), "substituted from a private package anonymously");

      ghcr.makePublic(repo);
      ghcr.resetCounters();
      Nix.Result substituted = Nix.exec(null, Duration.ofMinutes(3), realise);
      assertTrue(substituted.succeeded(), substituted.stderr());
      for (String p : closure) {
        assertTrue(Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS), p);
      }
      assertEquals(-1L, Files.mismatch(bigFile, Path.of(big)));
      List<GhcrLike.Served> storage = ghcr.served("storage", "GET", "/blobs/sha256/[0-9a-f]{64}");
      assertTrue(storage.size() >= 3, "blobs fetched from storage: " + storage);
      assertTrue(storage.stream().allMatch(s -> s.status() == 200), storage.toString());
      assertEquals(List.of(), ghcr.served("storage", "HEAD", ".*"));
      assertTrue(wan.minimumHeldNanos() >= Duration.ofMillis(10).toNanos());
    } finally {
      Nix.exec(null, Duration.ofMinutes(1), List.of("nix-store", "--delete", big));
    }
  }
}
