package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.Push;
import dev.oranc.push.PushOptions;
import dev.oranc.push.PushReport;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Real Nix 2.8 with {@code ca-derivations} through the server (issue 15, point 5): {@code nix copy
 * --to} a content-addressed derivation's output PUTs its realisation (answered 2xx; {@code nix
 * copy} exits 0), and a fresh store substitutes the output through the server by reading the
 * realisation first; the same with a realisation {@code oranc push} uploaded; {@code nix store
 * copy-log} and {@code nix log} of a derivation whose name is 200 characters long (a log key stored
 * under its hashed tag), also with the log stored xz-compressed (as Nix's S3 store writes it with
 * {@code log-compression}).
 *
 * <p>Fresh stores are chroot stores ({@code --store DIR}) under a temporary directory, deleted
 * whole; in the machine's store only the paths built here are deleted, never collected.
 */
class ContentAddressedNixTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static TestServer server;
  private Path temp;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void makeTemp() throws Exception {
    temp = Files.createTempDirectory("oranc-ca-nix");
  }

  @AfterEach
  void deleteTemp() throws Exception {
    // A Nix store is read-only: make it writable to delete it.
    new ProcessBuilder("chmod", "-R", "u+w", temp.toString()).start().waitFor();
    new ProcessBuilder("rm", "-rf", temp.toString()).start().waitFor();
  }

  private static Nix.Result nix(String... args) {
    List<String> argv = new ArrayList<>(List.of("nix"));
    argv.addAll(List.of(args));
    argv.addAll(Nix.CA_DERIVATIONS);
    return Nix.exec(null, Duration.ofMinutes(2), argv);
  }

  private static String ok(String... args) {
    return nix(args).requireSuccess();
  }

  /** {@code nix-store --read-log} of a derivation, straight from the cache's {@code log/} key. */
  private static String readLog(String cache, String drv) {
    return Nix.exec(
            null, Duration.ofMinutes(2), List.of("nix-store", "--store", cache, "--read-log", drv))
        .requireSuccess();
  }

  private byte[] xz(byte[] data) throws Exception {
    Path in = Files.write(temp.resolve("log"), data);
    Process p = new ProcessBuilder("xz", "-zc", in.toString()).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertEquals(0, p.waitFor());
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> realisation(String store, String drv) throws Exception {
    List<Object> list =
        JSON.std.listFrom(ok("realisation", "info", "--json", "--store", store, drv));
    assertEquals(1, list.size(), list.toString());
    return (Map<String, Object>) list.get(0);
  }

  /**
   * Copies the derivation into a fresh chroot store, then builds it there with only the server as
   * substituter and no build allowed ({@code --max-jobs 0}): the output can only come from the
   * cache, found through its realisation.
   */
  private Path substitute(String drv, String cache, String publicKey) {
    Path fresh = temp.resolve("store-" + UUID.randomUUID().toString().substring(0, 6));
    ok("copy", "--no-check-sigs", "--derivation", "--to", fresh.toString(), drv);
    ok(
        "build",
        "--store",
        fresh.toString(),
        "--no-link",
        "--max-jobs",
        "0",
        "--option",
        "substituters",
        cache,
        "--option",
        "trusted-public-keys",
        publicKey,
        drv);
    return fresh;
  }

  @Test
  void nixCopiesARealisationThroughTheServerAndAFreshStoreSubstitutesByIt() throws Exception {
    Registry registry = registries.get();
    String repo = "test/ca" + UUID.randomUUID().toString().substring(0, 8);
    String cache = "http://127.0.0.1:" + server.port() + "/" + registry.proxyAddress() + "/" + repo;
    Nix.KeyPair key = Nix.generateKey("oranc-ca-" + UUID.randomUUID().toString().substring(0, 6));
    Path keyFile = Files.writeString(temp.resolve("key.sec"), key.secret());
    try (Nix nix = new Nix()) {
      Nix.ContentAddressed ca =
          nix.buildContentAddressed("oranc-ca-copy", "copied by nix copy", List.of(keyFile));
      Map<String, Object> local = realisation("auto", ca.drv());

      registry.resetCounters();
      Nix.Result copy = nix("copy", "--to", cache, ca.drv());
      assertEquals(0, copy.exitCode(), copy.stderr());
      // The realisation's manifest PUT reached the registry and was answered 201 (so the server's
      // answer to Nix was a 2xx, or nix copy would have failed).
      String key2 = "realisations/" + local.get("id") + ".doi";
      String tag = TagCodec.DEFAULT.writeTag(key2).value();
      List<ProxiedRequest> puts =
          registry.proxiedRequests("PUT", "/v2/" + repo + "/manifests/" + Pattern.quote(tag));
      assertEquals(1, puts.size(), registry.proxiedRequests().toString());
      assertEquals(201, puts.get(0).status());
      HttpResponse<byte[]> stored =
          server.get("/" + registry.proxyAddress() + "/" + repo + "/" + key2, null);
      assertEquals(200, stored.statusCode());
      assertEquals("application/json", stored.headers().firstValue("Content-Type").orElse(null));
      assertEquals(local, JSON.std.mapFrom(stored.body()));

      Path fresh = substitute(ca.drv(), cache, key.publicKey());
      assertEquals(
          "copied by nix copy", Files.readString(Path.of(fresh.toString(), ca.output().path())));
      // The fresh store learnt the realisation from the cache, Nix's signature with it.
      assertEquals(local, realisation(fresh.toString(), ca.drv()));
    }
  }

  @Test
  void aRealisationPushedByOrancPushIsSubstituted() throws Exception {
    Registry registry = registries.get();
    String repo = "test/capush" + UUID.randomUUID().toString().substring(0, 8);
    String cache = "http://127.0.0.1:" + server.port() + "/" + registry.proxyAddress() + "/" + repo;
    Nix.KeyPair key =
        Nix.generateKey("oranc-ca-push-" + UUID.randomUUID().toString().substring(0, 6));
    try (Nix nix = new Nix()) {
      // Unsigned by Nix: the only signature is the one oranc push makes.
      Nix.ContentAddressed ca =
          nix.buildContentAddressed("oranc-ca-push", "pushed by oranc push", List.of());
      Map<String, Object> local = realisation("auto", ca.drv());
      assertEquals(List.of(), local.get("signatures"));

      PushOptions options = PushOptions.builder(registry.proxyAddress(), repo).noSsl(true).build();
      PushReport report =
          new Push(options, Map.of(Push.SIGNING_KEY_VARIABLE, key.secret()))
              .run(
                  new ByteArrayInputStream(
                      (ca.output().path() + "\n").getBytes(StandardCharsets.UTF_8)),
                  Path.of("").toAbsolutePath(),
                  System.err,
                  false);
      assertTrue(report.succeeded(), report.summary().toString());
      assertEquals(1, report.realisations(), report.summary().toString());

      Path fresh = substitute(ca.drv(), cache, key.publicKey());
      assertEquals(
          "pushed by oranc push", Files.readString(Path.of(fresh.toString(), ca.output().path())));
      Map<String, Object> substituted = realisation(fresh.toString(), ca.drv());
      assertEquals(local.get("id"), substituted.get("id"));
      assertEquals(local.get("outPath"), substituted.get("outPath"));
      List<?> sigs = (List<?>) substituted.get("signatures");
      assertEquals(1, sigs.size(), sigs.toString());
      assertTrue(((String) sigs.get(0)).startsWith(key.name() + ":"), sigs.toString());
    }
  }

  @Test
  void theLogOfADerivationWithA200CharacterNameGoesUpAndComesBack() throws Exception {
    Registry registry = registries.get();
    String repo = "test/calog" + UUID.randomUUID().toString().substring(0, 8);
    String cache = "http://127.0.0.1:" + server.port() + "/" + registry.address() + "/" + repo;
    String logLine = "the log of a long name " + UUID.randomUUID();
    String drv = null;
    try (Nix nix = new Nix()) {
      // Nix appends "-<16 hex digits>": 183 + 17 = 200 characters.
      Nix.StorePathInfo built = nix.buildLogging("oranc-log-" + "l".repeat(173), logLine);
      drv = built.deriver();
      String name = drv.substring(drv.indexOf('-') + 1, drv.length() - ".drv".length());
      assertEquals(200, name.length(), name);
      String logKey = "log/" + drv.substring("/nix/store/".length());
      assertTrue(TagCodec.isHashed(TagCodec.DEFAULT.writeTag(logKey)), logKey);

      Nix.Result copied = nix("store", "copy-log", "--to", cache, drv);
      assertEquals(0, copied.exitCode(), copied.stderr());
      // Nix writes nix-cache-info to an empty cache first; the log is under its hashed tag.
      assertEquals(
          List.of(TagCodec.hashedTag(logKey).value(), "nix-cache-info"),
          registry.tags(repo).stream().sorted().toList());
      assertTrue(
          registry.tags(repo).stream()
              .allMatch(t -> t.matches("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")));
      String path = "/" + registry.address() + "/" + repo + "/" + logKey;
      HttpResponse<byte[]> plain = server.get(path, null);
      assertEquals(200, plain.statusCode());
      assertEquals(
          "text/plain; charset=utf-8", plain.headers().firstValue("Content-Type").orElse(null));
      assertTrue(new String(plain.body(), StandardCharsets.UTF_8).contains(logLine));
      // nix log of a derivation reads the derivation from --store, which a binary cache does
      // not hold: nix log of its output goes through the output's narinfo (Deriver) to the log.
      ok("copy", "--to", cache, built.path());
      assertTrue(ok("log", "--store", cache, built.path()).contains(logLine));
      assertTrue(readLog(cache, drv).contains(logLine));

      // Nix 2.8's HTTP store sends logs as they are (log-compression is its S3 store's): put the
      // log back xz-compressed with Content-Encoding, as an S3 store with log-compression=xz
      // does, and Nix still reads it through the server.
      byte[] xz = xz(plain.body());
      HttpResponse<byte[]> put =
          server.put(
              path,
              xz,
              null,
              "Content-Type",
              "text/plain; charset=utf-8",
              "Content-Encoding",
              "xz");
      assertEquals(200, put.statusCode());
      HttpResponse<byte[]> head = server.head(path, null);
      assertEquals("xz", head.headers().firstValue("Content-Encoding").orElse(null));
      assertEquals(
          String.valueOf(xz.length), head.headers().firstValue("Content-Length").orElse(null));
      String log = ok("log", "--store", cache, built.path());
      assertTrue(log.contains(logLine), log);
      assertTrue(readLog(cache, drv).contains(logLine));
    } finally {
      if (drv != null) {
        Files.deleteIfExists(Nix.logFile(drv));
      }
    }
  }
}
