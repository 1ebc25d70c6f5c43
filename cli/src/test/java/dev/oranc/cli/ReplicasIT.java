package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.ExternalProcess;
import dev.oranc.testkit.LatencyProxy;
import dev.oranc.testkit.Nginx;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scale-out configuration of docs/OPERATIONS.md ("Replicas behind a load balancer"), read from
 * the document and run as written — only the replicas' addresses, the listen address, the
 * certificate and the cache directory are replaced: real nginx with an {@code upstream} of two
 * {@code oranc server} processes (keep-alive, {@code proxy_next_upstream}) and {@code proxy_cache}
 * as the CDN stand-in, in front of a real registry 10 ms away.
 *
 * <ul>
 *   <li>Real Nix substitutes a closure through nginx with signatures required while one replica is
 *       killed ({@code kill -9}, once it has served a few NARs: an event, not a delay) and
 *       restarted on its port; the substitution succeeds, continues after the kill, and nginx
 *       answered no request with an error.
 *   <li>{@code nix copy --to} through nginx into the pair succeeds, and the invariant that makes
 *       replicas safe is checked strictly while it runs: as soon as a narinfo's manifest is in the
 *       registry, its NAR is readable through <em>each</em> replica directly. Then the closure
 *       comes back into a fresh store through nginx.
 * </ul>
 */
class ReplicasIT {

  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final Pattern NAR_SERVED = Pattern.compile("GET /\\S+/nar/\\S+ 200 ");
  private static final Pattern URL_LINE = Pattern.compile("(?m)^URL: (\\S+)$");
  private static final Pattern FILE_SIZE_LINE = Pattern.compile("(?m)^FileSize: (\\d+)$");
  private static final Pattern LAYER_DIGEST =
      Pattern.compile(
          "\"layers\"\\s*:\\s*\\[\\s*\\{[^}]*\"digest\"\\s*:\\s*\"(sha256:[0-9a-f]{64})\"");

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  @TempDir static Path tmp;

  private static LatencyProxy wan;
  private static final int[] replicaPorts = new int[2];
  private static final ExternalProcess[] replicas = new ExternalProcess[2];
  private static Nginx nginx;
  private static Path cert;
  private static final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @BeforeAll
  static void startReplicasAndNginx() throws Exception {
    Registry registry = registries.get();
    String[] hostPort = registry.address().split(":");
    wan =
        new LatencyProxy(
            new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])),
            Duration.ofMillis(10),
            0);
    for (int i = 0; i < 2; i++) {
      replicaPorts[i] = Nginx.freePort();
      replicas[i] = startReplica(i);
    }
    List<Path> certAndKey = Nginx.selfSignedCertificate(tmp);
    cert = certAndKey.get(0);
    int port = Nginx.freePort();
    Path dir = tmp.resolve("nginx");
    String site =
        Nginx.documentedBlock(
            ROOT.resolve("docs/OPERATIONS.md"), "### Replicas behind a load balancer", "nginx");
    site =
        Nginx.replaceOnce(
            site, "server oranc-1.internal:8080;", "server 127.0.0.1:" + replicaPorts[0] + ";");
    site =
        Nginx.replaceOnce(
            site, "server oranc-2.internal:8080;", "server 127.0.0.1:" + replicaPorts[1] + ";");
    site =
        Nginx.replaceOnce(
            site, "listen 443 ssl http2;", "listen 127.0.0.1:" + port + " ssl http2;");
    site = site.replaceAll("ssl_certificate +\\S+;", "ssl_certificate " + cert + ";");
    site =
        site.replaceAll(
            "ssl_certificate_key +\\S+;", "ssl_certificate_key " + certAndKey.get(1) + ";");
    site =
        Nginx.replaceOnce(
            site,
            "proxy_cache_path /var/cache/nginx/oranc ",
            "proxy_cache_path " + dir.resolve("cache") + " ");
    // The retry rule the document explains: GET and HEAD to the next replica, never a PUT.
    List<String> retry =
        site.lines().map(String::strip).filter(l -> l.startsWith("proxy_next_upstream ")).toList();
    assertEquals(List.of("proxy_next_upstream error timeout;"), retry, site);
    nginx = Nginx.start(dir, site, port);
  }

  @AfterAll
  static void stop() {
    if (nginx != null) {
      nginx.close();
    }
    for (ExternalProcess replica : replicas) {
      if (replica != null) {
        replica.close();
      }
    }
    if (wan != null) {
      wan.close();
    }
  }

  private static ExternalProcess startReplica(int i) throws Exception {
    return ServerProcess.start(
            "oranc-replica-" + (i + 1),
            "127.0.0.1:" + replicaPorts[i],
            "--max-streams-per-client",
            "0")
        .process();
  }

  /** Whether nginx's access log shows a request answered by the replica on {@code port}. */
  private static boolean servedBy(List<String> log, int port) {
    return log.stream().anyMatch(l -> l.contains(":" + port + " "));
  }

  /** nginx's access log from line {@code from} on. */
  private static List<String> since(int from) {
    List<String> log = nginx.accessLog();
    return log.subList(Math.min(from, log.size()), log.size());
  }

  private static String cacheUrl(String repo) {
    return "https://127.0.0.1:" + nginx.port() + "/" + wan.address() + "/" + repo;
  }

  private static String replicaUrl(int i, String repo) {
    return "http://127.0.0.1:" + replicaPorts[i] + "/" + wan.address() + "/" + repo;
  }

  /**
   * A binary tree of {@code count} uniquely named paths, each with 48 KiB of its own random text;
   * the root first.
   */
  private static List<Nix.StorePathInfo> buildClosure(Nix nix, String name, int count, long seed) {
    Random random = new Random(seed);
    Nix.StorePathInfo[] built = new Nix.StorePathInfo[count];
    for (int i = count - 1; i >= 0; i--) {
      List<String> refs = new ArrayList<>();
      for (int child : new int[] {2 * i + 1, 2 * i + 2}) {
        if (child < count) {
          refs.add(built[child].path());
        }
      }
      StringBuilder text = new StringBuilder(48 * 1024);
      while (text.length() < 48 * 1024) {
        text.append(Long.toString(random.nextLong(), 36)).append(' ');
      }
      built[i] = nix.build(name + "-" + i, text.toString(), refs);
    }
    return List.of(built);
  }

  private static Nix.Result nix(Duration timeout, String... args) {
    List<String> argv = new ArrayList<>(List.of("nix"));
    argv.addAll(List.of(args));
    argv.addAll(
        List.of(
            "--option",
            "netrc-file",
            tmp.resolve("no-netrc").toString(),
            "--option",
            "narinfo-cache-negative-ttl",
            "0"));
    return Nix.exec(Map.of("NIX_SSL_CERT_FILE", cert.toString()), null, timeout, argv);
  }

  private static void assertSameContents(List<Nix.StorePathInfo> closure, Path store)
      throws IOException {
    for (Nix.StorePathInfo p : closure) {
      Path copied = Path.of(store.toString(), p.path());
      assertEquals(
          Files.readString(Path.of(p.path())), Files.readString(copied), copied.toString());
    }
  }

  @Test
  void nixSubstitutesAClosureWhileAReplicaIsKilledAndRestarted() throws Exception {
    String repo = "replicas/kill" + UUID.randomUUID().toString().substring(0, 8);
    Path work = Files.createTempDirectory(tmp, "kill");
    Nix.KeyPair key = Nix.generateKey("oranc-replicas-kill-1");
    try (Nix nix = new Nix()) {
      List<Nix.StorePathInfo> closure = buildClosure(nix, "oranc-replicas-kill", 40, 1);
      PushThroughServerIT.Run push =
          PushThroughServerIT.oranc(
              Map.of("ORANC_SIGNING_KEY", key.secret()),
              closure.get(0).path() + "\n",
              "push",
              "--registry",
              wan.address(),
              "--repository",
              repo,
              "--no-ssl",
              "-e",
              "^$");
      assertEquals(0, push.exit(), push.err());
      assertTrue(push.err().contains("pushed 40 paths"), push.err());

      int victim = 0;
      Path victimLog = replicas[victim].logFile();
      Path fresh = work.resolve("store");
      CompletableFuture<Nix.Result> substitution =
          CompletableFuture.supplyAsync(
              () ->
                  nix(
                      Duration.ofMinutes(4),
                      "copy",
                      "--from",
                      cacheUrl(repo),
                      "--to",
                      fresh.toString(),
                      "--trusted-public-keys",
                      key.publicKey(),
                      closure.get(0).path()));

      // Kill the replica once it has served three NARs: the substitution is under way then.
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (countMatches(victimLog, NAR_SERVED) < 3) {
        assertFalse(
            substitution.isDone(),
            "the substitution ended before replica 1 served three NARs: "
                + resultOf(substitution)
                + "\n"
                + String.join("\n", nginx.accessLog()));
        assertTrue(System.nanoTime() < deadline, "replica 1 never served three NARs");
        Thread.sleep(5);
      }
      long pid = replicas[victim].pid();
      Commands.Run killed = Commands.run(List.of("kill", "-9", Long.toString(pid)));
      assertEquals(0, killed.exit(), killed.out());
      int linesAtKill = nginx.accessLog().size();
      while (replicas[victim].isAlive()) {
        Thread.sleep(5);
      }
      replicas[victim].close();
      replicas[victim] = startReplica(victim);

      Nix.Result result = substitution.get(5, TimeUnit.MINUTES);
      assertTrue(
          result.succeeded(),
          result.stderr() + "\nnginx:\n" + String.join("\n", nginx.accessLog()) + nginx.errorLog());
      assertSameContents(closure, fresh);

      List<String> log = nginx.accessLog();
      List<String> narsAfterKill =
          log.subList(linesAtKill, log.size()).stream()
              .filter(l -> l.matches("GET /\\S+/nar/\\S+ 200 .*"))
              .toList();
      assertFalse(
          narsAfterKill.isEmpty(),
          "the kill came after the last NAR: nothing was substituted past it\n"
              + String.join("\n", log));
      List<String> errors = log.stream().filter(l -> l.split(" ")[2].startsWith("5")).toList();
      assertEquals(List.of(), errors, "nginx answered a client with an error");
      // The restarted replica serves again: straight to it, a narinfo of the closure.
      HttpResponse<String> direct =
          get(replicaUrl(victim, repo) + "/" + closure.get(1).hashPart() + ".narinfo");
      assertEquals(200, direct.statusCode(), direct.body());
    } finally {
      new ProcessBuilder("chmod", "-R", "u+w", work.toString()).start().waitFor();
    }
  }

  @Test
  void nixCopyToThePairIsReadableThroughEitherReplicaAtOnce() throws Exception {
    String repo = "replicas/copy" + UUID.randomUUID().toString().substring(0, 8);
    Path work = Files.createTempDirectory(tmp, "copy");
    Nix.KeyPair key = Nix.generateKey("oranc-replicas-copy-1");
    Path secret = Files.writeString(work.resolve("key.sec"), key.secret());
    try (Nix nix = new Nix()) {
      List<Nix.StorePathInfo> closure = buildClosure(nix, "oranc-replicas-copy", 16, 2);
      Map<String, Nix.StorePathInfo> byHash = new LinkedHashMap<>();
      closure.forEach(p -> byHash.put(p.hashPart(), p));

      // While nix copy --to runs: the moment a narinfo's manifest is in the registry, its NAR must
      // be readable through each replica, asked directly (past nginx and its cache).
      AtomicBoolean done = new AtomicBoolean();
      ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<String> checked = new ConcurrentLinkedQueue<>();
      CompletableFuture<Void> watcher =
          CompletableFuture.runAsync(
              () -> {
                List<String> pending = new ArrayList<>(byHash.keySet());
                try {
                  while (!pending.isEmpty()) {
                    boolean last = done.get();
                    for (var it = pending.iterator(); it.hasNext(); ) {
                      String hash = it.next();
                      String narinfo = narinfoInRegistry(repo, hash);
                      if (narinfo == null) {
                        continue;
                      }
                      it.remove();
                      checkNarThroughEachReplica(repo, hash, narinfo, violations);
                      checked.add(hash);
                    }
                    if (last) {
                      break;
                    }
                    Thread.sleep(20);
                  }
                } catch (Exception e) {
                  violations.add("the watcher failed: " + e);
                }
              });

      // nginx may still hold a replica as failed (the kill test's victim, for its fail_timeout of
      // 10 s): until then it sends every request to the other. Wait until requests sent from now
      // on reach each replica, so the copy below crosses replicas. (Only the new lines count: the
      // kill test's own lines show both replicas.)
      int linesBefore = nginx.accessLog().size();
      long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      for (int probe = 0;
          !(servedBy(since(linesBefore), replicaPorts[0])
              && servedBy(since(linesBefore), replicaPorts[1]));
          probe++) {
        assertTrue(
            System.nanoTime() < until,
            "nginx never sent a request to each replica: " + nginx.accessLog());
        Commands.Run probed =
            Commands.run(
                List.of(
                    "curl",
                    "-sS",
                    "-o",
                    "/dev/null",
                    "--cacert",
                    cert.toString(),
                    cacheUrl(repo) + "/probe-" + probe + ".narinfo"));
        assertEquals(0, probed.exit(), probed.out());
        Thread.sleep(100); // polling for nginx's next try of a replica it held as failed
      }
      Nix.Result copied =
          nix(
              Duration.ofMinutes(4),
              "copy",
              "--to",
              cacheUrl(repo) + "?compression=zstd&secret-key=" + secret,
              closure.get(0).path());
      done.set(true);
      watcher.get(2, TimeUnit.MINUTES);
      assertTrue(
          copied.succeeded(),
          copied.stderr() + "\nnginx:\n" + String.join("\n", nginx.accessLog()));
      assertEquals(List.of(), List.copyOf(violations));
      assertEquals(
          byHash.keySet().stream().sorted().toList(),
          checked.stream().sorted().toList(),
          "every narinfo of the closure reached the registry and was checked");
      // Both replicas took uploads (round-robin): the check above crossed replicas.
      List<String> puts = nginx.accessLog().stream().filter(l -> l.startsWith("PUT ")).toList();
      assertTrue(
          puts.stream().anyMatch(l -> l.contains(":" + replicaPorts[0] + " "))
              && puts.stream().anyMatch(l -> l.contains(":" + replicaPorts[1] + " ")),
          String.join("\n", puts));

      Path fresh = work.resolve("store");
      Nix.Result back =
          nix(
              Duration.ofMinutes(4),
              "copy",
              "--from",
              cacheUrl(repo),
              "--to",
              fresh.toString(),
              "--trusted-public-keys",
              key.publicKey(),
              closure.get(0).path());
      assertTrue(back.succeeded(), back.stderr());
      assertSameContents(closure, fresh);
    } finally {
      new ProcessBuilder("chmod", "-R", "u+w", work.toString()).start().waitFor();
    }
  }

  /**
   * The narinfo {@code hash} as stored in the registry (manifest by tag, then its blob), or null if
   * its manifest is not there yet.
   */
  private static String narinfoInRegistry(String repo, String hash) throws Exception {
    String registry = "http://" + registries.get().address() + "/v2/" + repo;
    HttpResponse<String> manifest =
        http.send(
            HttpRequest.newBuilder(URI.create(registry + "/manifests/" + hash + ".narinfo"))
                .header("Accept", "application/vnd.oci.image.manifest.v1+json")
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (manifest.statusCode() == 404) {
      return null;
    }
    assertEquals(200, manifest.statusCode(), manifest.body());
    Matcher digest = LAYER_DIGEST.matcher(manifest.body());
    assertTrue(digest.find(), manifest.body());
    HttpResponse<String> blob =
        http.send(
            HttpRequest.newBuilder(URI.create(registry + "/blobs/" + digest.group(1)))
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, blob.statusCode(), blob.body());
    return blob.body();
  }

  private static void checkNarThroughEachReplica(
      String repo, String hash, String narinfo, ConcurrentLinkedQueue<String> violations)
      throws Exception {
    Matcher url = URL_LINE.matcher(narinfo);
    Matcher size = FILE_SIZE_LINE.matcher(narinfo);
    if (!url.find() || !size.find()) {
      violations.add(hash + ".narinfo names no URL or FileSize:\n" + narinfo);
      return;
    }
    for (int i = 0; i < 2; i++) {
      HttpResponse<byte[]> nar =
          http.send(
              HttpRequest.newBuilder(URI.create(replicaUrl(i, repo) + "/" + url.group(1)))
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      if (nar.statusCode() != 200 || nar.body().length != Long.parseLong(size.group(1))) {
        violations.add(
            hash
                + ".narinfo is in the registry, but replica "
                + (i + 1)
                + " answers its NAR "
                + url.group(1)
                + " with "
                + nar.statusCode()
                + ", "
                + nar.body().length
                + " bytes (FileSize "
                + size.group(1)
                + "): "
                + new String(
                    nar.body(), 0, Math.min(nar.body().length, 300), StandardCharsets.UTF_8));
      }
    }
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static long countMatches(Path file, Pattern pattern) throws IOException {
    if (!Files.exists(file)) {
      return 0;
    }
    // Read as bytes: the log is being written, and its last line may end mid-character.
    return new String(Files.readAllBytes(file), StandardCharsets.UTF_8)
        .lines()
        .filter(l -> pattern.matcher(l).find())
        .count();
  }

  private static String resultOf(CompletableFuture<Nix.Result> f) {
    try {
      Nix.Result r = f.getNow(null);
      return r == null ? "(running)" : "exit " + r.exitCode() + ": " + r.stderr();
    } catch (RuntimeException e) {
      return e.toString();
    }
  }
}
