package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.ExternalProcess;
import dev.oranc.testkit.Nginx;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import dev.oranc.testkit.TestLogs;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reverse-proxy configurations of docs/OPERATIONS.md, run as written: the nginx and Caddy
 * blocks are read from the document, and only what names the operator's machine is replaced (the
 * listen address, the certificate files, oranc's port; Caddy's global options keep it off ports 80
 * and 2019 and out of the system trust store). Real Nix then copies a closure through TLS, the
 * proxy and {@code oranc server} into a registry that wants tokens (the credentials travel in the
 * {@code Authorization} header the proxy must pass on), and substitutes it back into a fresh store
 * with signatures required.
 */
class ReverseProxyIT {

  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.TOKEN);

  @TempDir static Path tmp;

  private static ServerProcess oranc;
  private static int orancPort;
  private static Path cert;
  private static Path key;

  @BeforeAll
  static void startServerAndMakeACertificate() throws Exception {
    oranc = ServerProcess.start();
    orancPort = oranc.port();
    cert = tmp.resolve("cert.pem");
    key = tmp.resolve("key.pem");
    Commands.Run made =
        Commands.run(
            List.of(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                key.toString(),
                "-out",
                cert.toString()));
    assertEquals(0, made.exit(), made.out());
  }

  @AfterAll
  static void stopServer() {
    if (oranc != null) {
      oranc.close();
    }
  }

  @Test
  void nixCopiesAndSubstitutesThroughNginxAsDocumented() throws Exception {
    String block = codeBlock("nginx");
    int port = freePort();
    String site =
        replaceOnce(block, "server 127.0.0.1:8080;", "server 127.0.0.1:" + orancPort + ";");
    site = replaceOnce(site, "listen 443 ssl http2;", "listen 127.0.0.1:" + port + " ssl http2;");
    site = site.replaceAll("ssl_certificate +\\S+;", "ssl_certificate " + cert + ";");
    site = site.replaceAll("ssl_certificate_key +\\S+;", "ssl_certificate_key " + key + ";");
    try (Nginx nginx = Nginx.start(tmp.resolve("nginx"), site, port)) {
      roundTrip(port, "nginx");
    }
  }

  @Test
  void nixCopiesAndSubstitutesThroughCaddyAsDocumented() throws Exception {
    String block = codeBlock("caddy");
    int port = freePort();
    String site =
        replaceOnce(block, "reverse_proxy 127.0.0.1:8080", "reverse_proxy 127.0.0.1:" + orancPort);
    site =
        replaceOnce(
            site,
            "cache.example.org {",
            "https://127.0.0.1:" + port + " {\n    tls " + cert + " " + key);
    Path dir = Files.createDirectories(tmp.resolve("caddy"));
    String conf =
        "{\n"
            + "    admin off\n"
            + "    auto_https disable_redirects\n"
            + "    skip_install_trust\n"
            + "    default_sni 127.0.0.1\n"
            + "    storage file_system "
            + dir.resolve("data")
            + "\n"
            + "}\n"
            + site;
    Path confFile = Files.writeString(dir.resolve("Caddyfile"), conf);
    Map<String, String> env =
        Map.of(
            "HOME",
            dir.toString(),
            "XDG_DATA_HOME",
            dir.resolve("data").toString(),
            "XDG_CONFIG_HOME",
            dir.resolve("config").toString());
    try (ExternalProcess caddy =
        ExternalProcess.start(
            "caddy",
            List.of("caddy", "run", "--adapter", "caddyfile", "--config", confFile.toString()),
            TestLogs.newFile(TestLogs.dir(TestLogs.currentTestClass()), "caddy", ".log"),
            env)) {
      awaitPort(port, caddy);
      roundTrip(port, "caddy");
    }
  }

  /**
   * nix copy of a two-path closure to https://127.0.0.1:PORT/REGISTRY/REPO (credentials from a
   * netrc file), then the same closure from there into a fresh store, signatures checked.
   */
  private static void roundTrip(int port, String name) throws Exception {
    Registry registry = registries.get();
    String url =
        "https://127.0.0.1:"
            + port
            + "/"
            + registry.address()
            + "/docs/"
            + name
            + UUID.randomUUID().toString().substring(0, 8);
    Path work = Files.createTempDirectory(tmp, name);
    Path netrc =
        Files.writeString(
            work.resolve("netrc"),
            "machine 127.0.0.1 login " + Registry.USER + " password " + Registry.PASSWORD + "\n");
    Map<String, String> env = Map.of("NIX_SSL_CERT_FILE", cert.toString());
    List<String> options = List.of("--option", "netrc-file", netrc.toString());
    Path fresh = work.resolve("store");
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo dep = nix.build("oranc-rp-dep-" + name, "through " + name);
      Nix.StorePathInfo top =
          nix.build("oranc-rp-top-" + name, "top through " + name, List.of(dep.path()));
      Nix.KeyPair signing = Nix.generateKey("oranc-rp-" + name + "-1");
      Path secret = Files.writeString(work.resolve("key.sec"), signing.secret());

      nix(env, options, "copy", "--to", url + "?compression=zstd&secret-key=" + secret, top.path());
      nix(
          env,
          options,
          "copy",
          "--from",
          url,
          "--to",
          fresh.toString(),
          "--trusted-public-keys",
          signing.publicKey(),
          top.path());
      for (Nix.StorePathInfo p : List.of(dep, top)) {
        Path copied = Path.of(fresh.toString(), p.path());
        assertEquals(
            Files.readString(Path.of(p.path())), Files.readString(copied), copied.toString());
      }
    } finally {
      new ProcessBuilder("chmod", "-R", "u+w", work.toString()).start().waitFor();
    }
  }

  private static String nix(Map<String, String> env, List<String> options, String... args) {
    List<String> argv = new ArrayList<>();
    argv.add("nix");
    argv.addAll(List.of(args));
    argv.addAll(options);
    return Nix.exec(env, null, Duration.ofMinutes(2), argv).requireSuccess();
  }

  /** The first fenced block of docs/OPERATIONS.md in {@code language}. */
  static String codeBlock(String language) throws IOException {
    String doc = Files.readString(ROOT.resolve("docs/OPERATIONS.md"));
    String fence = "```" + language + "\n";
    int start = doc.indexOf(fence);
    assertTrue(start >= 0, "docs/OPERATIONS.md has no " + fence.strip() + " block");
    int end = doc.indexOf("```", start + fence.length());
    return doc.substring(start + fence.length(), end);
  }

  static String replaceOnce(String text, String what, String with) {
    assertTrue(
        text.contains(what), "the documented block no longer contains '" + what + "':\n" + text);
    return text.replace(what, with);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  static void awaitPort(int port, ExternalProcess process) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      assertTrue(process.isAlive(), process.name() + " exited:\n" + process.log());
      try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
        return;
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    throw new AssertionError(
        process.name() + " does not listen on " + port + ":\n" + process.log());
  }
}
