package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.GhcrLike;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real Nix substitutes a closure from a private repository on the ghcr.io stand-in through {@code
 * oranc server --nar-redirect}: every NAR is a 307 that Nix (curl) follows to the storage origin,
 * so the NAR bytes never pass through the server, and the storage never sees the client's
 * credentials.
 *
 * <p>The client's credentials are in a netrc, which curl matches by host name only (not port): the
 * server is reached as {@code localhost} and the storage is at {@code 127.0.0.1}, another name, as
 * ghcr.io's storage is another host than the cache's. (The storage refuses any request carrying
 * {@code Authorization} with 400, so a leaked credential would fail the substitution.)
 */
class NarRedirectNixTest {

  private static GhcrLike ghcr;
  private static TestServer server;

  @BeforeAll
  static void start() {
    ghcr = GhcrLike.start();
    server = TestServer.start(b -> b.narRedirect(true));
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
  void nixSubstitutesAPrivateClosureWithItsNarsFromStorageNotThroughTheServer() throws Exception {
    String repo = "redirect/nix" + UUID.randomUUID().toString().substring(0, 8);
    String cache = "http://localhost:" + server.port() + "/" + ghcr.address() + "/" + repo;
    Path temp = Files.createTempDirectory("oranc-nar-redirect");
    Path netrc = temp.resolve("netrc");
    Files.writeString(
        netrc,
        "machine localhost login " + Registry.USER + " password " + Registry.PASSWORD + "\n");
    List<String> withCredentials = List.of("--option", "netrc-file", netrc.toString());
    Path fresh = temp.resolve("store");
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo a = nix.build("oranc-redirect-a", "a " + repo);
      Nix.StorePathInfo b = nix.build("oranc-redirect-b", "b " + repo, List.of(a.path()));
      Nix.StorePathInfo c = nix.build("oranc-redirect-c", "c " + repo, List.of(a.path(), b.path()));
      Nix.KeyPair key = Nix.generateKey("oranc-redirect");
      Path secret = temp.resolve("key.sec");
      Files.writeString(secret, key.secret());
      Nix.run("nix", "store", "sign", "--key-file", secret.toString(), "--recursive", c.path());
      Nix.nix(withCredentials, "copy", "--to", cache, c.path());

      ghcr.resetCounters();
      long redirected = server.server.metrics().narsRedirected();
      long relayed = server.server.metrics().narsRelayed();
      long relayedBytes = server.server.metrics().narBytesRelayed();
      Nix.nix(
          withCredentials,
          "copy",
          "--from",
          cache,
          "--to",
          fresh.toString(),
          "--trusted-public-keys",
          key.publicKey(),
          c.path());
      for (String p : List.of(a.path(), b.path(), c.path())) {
        Path copied = Path.of(fresh.toString(), p);
        assertTrue(Files.exists(copied), copied + " was not substituted");
        assertEquals(-1L, Files.mismatch(Path.of(p), copied), p);
      }

      // Three NARs, each a 307 followed to storage; none relayed, not a byte.
      assertEquals(redirected + 3, server.server.metrics().narsRedirected());
      assertEquals(relayed, server.server.metrics().narsRelayed());
      assertEquals(relayedBytes, server.server.metrics().narBytesRelayed());
      List<GhcrLike.Served> storage = ghcr.served("storage", "GET", "/blobs/sha256/[0-9a-f]{64}");
      assertEquals(3, storage.size(), ghcr.served().toString());
      for (GhcrLike.Served s : ghcr.served()) {
        if (s.origin().equals("storage")) {
          // 400 would be a request carrying Authorization: the netrc's credentials leaked.
          assertEquals(200, s.status(), s.toString());
        }
      }
    } finally {
      Nix.deleteTree(temp);
    }
  }
}
