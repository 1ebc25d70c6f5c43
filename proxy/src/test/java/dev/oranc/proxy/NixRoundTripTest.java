package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Real Nix 2.8 through the server: {@code nix copy --to} of a closure with references, {@code nix
 * store verify} of the signatures as the cache serves them, a second copy that uploads nothing, and
 * substitution into a fresh store with {@code nix copy --from}. In every registry flavour;
 * credentials in the store URL's userinfo (BASIC) or a netrc file (TOKEN).
 */
class NixRoundTripTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void nixCopiesAClosureThroughTheServerAndSubstitutesItBack(RegistryFlavour flavour)
      throws Exception {
    Registry registry = registries.get(flavour);
    String repo = "test/nix" + UUID.randomUUID().toString().substring(0, 8);
    String where = "127.0.0.1:" + server.port() + "/" + registry.proxyAddress() + "/" + repo;
    Path temp = Files.createTempDirectory("oranc-nix-roundtrip");
    List<String> credentialOptions = List.of();
    String url = "http://" + where;
    if (flavour == RegistryFlavour.BASIC) {
      url = "http://" + Registry.USER + ":" + Registry.PASSWORD + "@" + where;
    } else if (flavour == RegistryFlavour.TOKEN) {
      Path netrc = temp.resolve("netrc");
      Files.writeString(
          netrc,
          "machine 127.0.0.1 login " + Registry.USER + " password " + Registry.PASSWORD + "\n");
      credentialOptions = List.of("--option", "netrc-file", netrc.toString());
    }
    Path fresh = temp.resolve("store");
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo a = nix.build("oranc-rt-a", "a " + flavour);
      Nix.StorePathInfo b = nix.build("oranc-rt-b", "b " + flavour, List.of(a.path()));
      Nix.StorePathInfo c = nix.build("oranc-rt-c", "c " + flavour, List.of(b.path(), a.path()));
      Nix.KeyPair key = Nix.generateKey("oranc-test-" + flavour.name().toLowerCase());
      Path secret = temp.resolve("key.sec");
      Files.writeString(secret, key.secret());
      Nix.run("nix", "store", "sign", "--key-file", secret.toString(), "--recursive", c.path());

      nix(credentialOptions, "copy", "--to", url, c.path());
      for (String p : List.of(a.path(), b.path(), c.path())) {
        String hash = p.substring("/nix/store/".length(), "/nix/store/".length() + 32);
        assertEquals(
            200,
            server
                .get(
                    "/" + registry.proxyAddress() + "/" + repo + "/" + hash + ".narinfo",
                    flavour == RegistryFlavour.ANONYMOUS
                        ? null
                        : TestServer.basic(Registry.USER, Registry.PASSWORD))
                .statusCode());
      }

      // The cache serves what Nix signed: verify the closure's signatures through the server.
      nix(
          credentialOptions,
          "store",
          "verify",
          "--store",
          url,
          "--trusted-public-keys",
          key.publicKey(),
          "--recursive",
          c.path());

      // Everything is there already: a second copy uploads nothing.
      registry.resetCounters();
      nix(credentialOptions, "copy", "--to", url, c.path());
      assertEquals(List.of(), registry.proxiedRequests("PUT", ".*"), "the second copy uploaded");
      assertEquals(List.of(), registry.proxiedRequests("PATCH", ".*"), "the second copy uploaded");

      // Substitution into a fresh store: the whole closure, checked against our key.
      nix(
          credentialOptions,
          "copy",
          "--from",
          url,
          "--to",
          fresh.toString(),
          "--trusted-public-keys",
          key.publicKey(),
          c.path());
      for (Nix.StorePathInfo p : List.of(a, b, c)) {
        Path copied = Path.of(fresh.toString(), p.path());
        assertTrue(Files.exists(copied), copied + " was not substituted");
        assertEquals(
            Files.readString(Path.of(p.path()), StandardCharsets.UTF_8),
            Files.readString(copied, StandardCharsets.UTF_8));
      }
      String closure =
          nix(List.of(), "path-info", "--store", fresh.toString(), "--recursive", c.path());
      assertEquals(3, closure.strip().lines().count(), closure);
    } finally {
      // A Nix store is read-only: make it writable to delete it.
      new ProcessBuilder("chmod", "-R", "u+w", temp.toString()).start().waitFor();
      new ProcessBuilder("rm", "-rf", temp.toString()).start().waitFor();
    }
  }

  /**
   * Files stored with a {@code Content-Encoding} (as Nix's S3 store writes them with {@code
   * narinfo-compression} / {@code ls-compression}) come back with it, and Nix decodes them: a
   * narinfo re-uploaded xz-compressed still substitutes (Nix 2.8's {@code nix store ls} reads the
   * NAR rather than the listing, so for listings the byte-exact round trip with the header is what
   * is checked). This Nix has no S3 store, so the compressed uploads are made here; the Rust tool
   * loses the encoding.
   */
  @Test
  void compressedNarinfosAndListingsComeBackReadable() throws Exception {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String repo = "test/nixenc" + UUID.randomUUID().toString().substring(0, 8);
    String base = "/" + registry.address() + "/" + repo;
    String url = "http://127.0.0.1:" + server.port() + base;
    Path temp = Files.createTempDirectory("oranc-nix-encoding");
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo a = nix.buildTree("oranc-enc-a", "a", List.of());
      nix(List.of(), "copy", "--to", url + "?write-nar-listing=true&compression=zstd", a.path());
      String hash = a.path().substring("/nix/store/".length(), "/nix/store/".length() + 32);
      for (String key : List.of(hash + ".narinfo", hash + ".ls")) {
        var plain = server.get(base + "/" + key, null);
        assertEquals(200, plain.statusCode());
        byte[] xz = xz(plain.body(), temp);
        var put =
            server.put(
                base + "/" + key,
                xz,
                null,
                "Content-Type",
                plain.headers().firstValue("Content-Type").orElseThrow(),
                "Content-Encoding",
                "xz");
        assertEquals(200, put.statusCode());
        var back = server.get(base + "/" + key, null);
        assertEquals("xz", back.headers().firstValue("Content-Encoding").orElse(null));
        Assertions.assertArrayEquals(xz, back.body());
      }
      // Nix cached the narinfo it uploaded: make it fetch the compressed one from the server.
      List<String> refetch = List.of("--option", "narinfo-cache-positive-ttl", "0");
      long before = server.server.metrics().requests("GET", 200);
      String ls = nix(refetch, "store", "ls", "--store", url, a.path() + "/bin");
      assertTrue(ls.contains("hello"), ls);
      Path fresh = temp.resolve("store");
      nix(refetch, "copy", "--no-check-sigs", "--from", url, "--to", fresh.toString(), a.path());
      assertTrue(
          server.server.metrics().requests("GET", 200) >= before + 3,
          "Nix did not fetch the files again");
      assertTrue(Files.exists(Path.of(fresh.toString(), a.path(), "bin", "hello")));
    } finally {
      new ProcessBuilder("chmod", "-R", "u+w", temp.toString()).start().waitFor();
      new ProcessBuilder("rm", "-rf", temp.toString()).start().waitFor();
    }
  }

  private static byte[] xz(byte[] data, Path dir) throws Exception {
    Path in = Files.createTempFile(dir, "plain", "");
    Files.write(in, data);
    Process p = new ProcessBuilder("xz", "-zc", in.toString()).redirectErrorStream(false).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertEquals(0, p.waitFor());
    return out;
  }

  private static String nix(List<String> options, String... args) {
    List<String> argv = new ArrayList<>();
    argv.add("nix");
    argv.addAll(List.of(args));
    argv.addAll(options);
    return Nix.exec(null, Duration.ofMinutes(2), argv).requireSuccess();
  }
}
