package dev.oranc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.cli.PushThroughServerIT.Run;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.nix.hash.Nix32;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.AccessLogEntry;
import dev.oranc.testkit.LeakCheck;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention with the packaged launcher, as CI would run it: {@code push --pin}, plain pushes,
 * {@code pin list}, {@code gc --dry-run --json}, {@code gc --json}, {@code check}; then Nix
 * substitutes the pinned closure through {@code oranc server} with signatures required, while a
 * collected path is gone from the cache.
 */
class RetentionIT {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final String LAUNCHER = System.getProperty("oranc.launcher", "target/oranc");

  static Map<String, Object> json(String text) throws Exception {
    return JSON.std.mapFrom(text.strip());
  }

  @Test
  void pinnedClosureSurvivesGcAndSubstitutesThroughTheServer() throws Exception {
    Registry registry = registries.get();
    String repo = "e2e/retention";
    Nix.KeyPair key = Nix.generateKey("oranc-e2e-gc-1");
    Map<String, String> env = Map.of("ORANC_SIGNING_KEY", key.secret());
    List<String> target =
        List.of("--registry", registry.address(), "--repository", repo, "--no-ssl");
    try (Nix nix = new Nix();
        ServerProcess server = ServerProcess.start()) {
      Nix.StorePathInfo dep = nix.build("oranc-gc-dep", "shared by A and B");
      Nix.StorePathInfo a = nix.build("oranc-gc-a", "A", List.of(dep.path()));
      Nix.StorePathInfo b = nix.build("oranc-gc-b", "B", List.of(dep.path()));
      Nix.StorePathInfo c = nix.build("oranc-gc-c", "C");

      Run pinned = oranc(env, a.path() + "\n", "push", target, "--pin", "prod");
      assertEquals(0, pinned.exit(), pinned.err());
      assertTrue(pinned.err().contains("pin prod set to 1 paths"), pinned.err());
      Run rest = oranc(env, b.path() + "\n" + c.path() + "\n", "push", target);
      assertEquals(0, rest.exit(), rest.err());

      Run list = oranc(Map.of(), "", "pin", "list", target);
      assertEquals(0, list.exit(), list.err());
      assertEquals("prod\t1", list.out().strip());

      List<String> before = registry.tags(repo);
      Run dry =
          oranc(
              Map.of(),
              "",
              "gc",
              target,
              "--keep-days",
              "0",
              "--grace",
              "0s",
              "--dry-run",
              "--json");
      assertEquals(0, dry.exit(), dry.err());
      Map<String, Object> drySummary = json(dry.out());
      assertEquals(true, drySummary.get("dryRun"));
      assertEquals(2, ((Number) drySummary.get("narinfosDeleted")).intValue(), dry.out());
      assertEquals(before.size(), registry.tags(repo).size());

      Run gc =
          oranc(
              Map.of(),
              "",
              "gc",
              target,
              "--keep-days",
              "0",
              "--grace",
              "0s",
              "--max-deletes-per-minute",
              "0",
              "--json");
      assertEquals(0, gc.exit(), gc.err());
      Map<String, Object> summary = json(gc.out());
      assertEquals(2, ((Number) summary.get("narinfosDeleted")).intValue(), gc.out());
      assertEquals(2, ((Number) summary.get("narsDeleted")).intValue(), gc.out());
      assertEquals(2, ((Number) summary.get("narinfosKept")).intValue(), gc.out());

      Run check = oranc(Map.of(), "", "check", target, "--trusted-public-key", key.publicKey());
      assertEquals(0, check.exit(), check.out() + check.err());
      assertTrue(check.err().contains("no problems"), check.err());

      Run again = oranc(Map.of(), "", "gc", target, "--keep-days", "0", "--grace", "0s", "--json");
      assertEquals(0, ((Number) json(again.out()).get("narinfosDeleted")).intValue(), again.out());

      // Everything gone from the store, then A's closure back from the cache, signatures
      // required; B is not in the cache any more.
      String cache = server.cacheUrl(registry.address(), repo);
      deleteBuiltPaths(nix);
      assertFalse(Files.exists(Path.of(a.path()), LinkOption.NOFOLLOW_LINKS));
      Nix.Result substituted =
          Nix.exec(
              null,
              Duration.ofMinutes(2),
              List.of(
                  "nix-store",
                  "--realise",
                  a.path(),
                  "--option",
                  "substituters",
                  cache,
                  "--option",
                  "trusted-public-keys",
                  key.publicKey()));
      assertTrue(substituted.succeeded(), substituted.stderr());
      assertTrue(Files.exists(Path.of(a.path())) && Files.exists(Path.of(dep.path())));
      Nix.Result collected =
          Nix.exec(
              null,
              Duration.ofMinutes(2),
              List.of(
                  "nix-store",
                  "--realise",
                  b.path(),
                  "--option",
                  "substituters",
                  cache,
                  "--option",
                  "trusted-public-keys",
                  key.publicKey()));
      assertFalse(collected.succeeded(), collected.stdout());
      Nix.exec(null, Duration.ofMinutes(1), List.of("nix-store", "--delete", a.path(), dep.path()));

      Run removed = oranc(Map.of(), "", "pin", "remove", target, "prod");
      assertEquals(0, removed.exit(), removed.err());
      Run missing = oranc(Map.of(), "", "pin", "remove", target, "prod");
      assertEquals(1, missing.exit(), missing.err());
      assertEquals(
          List.of("oranc pin remove: there is no pin prod in " + registry.address() + "/" + repo),
          PushThroughServerIT.lines(missing.err()));
    }
  }

  /**
   * 200 paths in 20 chains of 10 (each referencing the one before), a narinfo and a NAR each,
   * written through the client library (gc needs no store); then {@code oranc gc} is killed with
   * SIGKILL in the middle of deleting them. What is left passes {@code check}, and the next run
   * deletes the rest.
   */
  @Test
  void aGcKilledMidwayLeavesAConsistentCacheAndTheNextRunFinishes(@TempDir Path tmp)
      throws Exception {
    Registry registry = registries.get();
    String repo = "e2e/killed";
    List<String> target =
        List.of("--registry", registry.address(), "--repository", repo, "--no-ssl");
    writeSyntheticCache(registry, repo, 20, 10);
    assertEquals(400, registry.tags(repo).size());
    registry.resetCounters();

    // Paced to 50 deletes a second, so the 400 take seconds and the kill lands among them.
    List<String> command = new ArrayList<>(List.of(LAUNCHER, "gc"));
    command.addAll(target);
    command.addAll(
        List.of(
            "--keep-days", "0", "--grace", "0s", "--max-deletes-per-minute", "3000", "-p", "4"));
    Process gc =
        new ProcessBuilder(command)
            .redirectOutput(tmp.resolve("gc.out").toFile())
            .redirectError(tmp.resolve("gc.err").toFile())
            .start();
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (registry.accessLog("DELETE", ".*/manifests/.*").size() < 40
        && gc.isAlive()
        && System.nanoTime() < deadline) {
      Thread.onSpinWait();
      Thread.sleep(20);
    }
    if (!gc.isAlive()) {
      throw new AssertionError(
          "gc ended before it could be killed (exit "
              + gc.exitValue()
              + ", "
              + registry.accessLog("DELETE", ".*/manifests/.*").size()
              + " deletes seen): "
              + Files.readString(tmp.resolve("gc.err"))
              + Files.readString(tmp.resolve("gc.out")));
    }
    gc.destroyForcibly();
    assertTrue(gc.waitFor(1, TimeUnit.MINUTES));
    int left = registry.tags(repo).size();
    assertTrue(left > 0 && left < 400, left + " keys left");

    Run check = oranc(Map.of(), "", "check", target);
    assertEquals(0, check.exit(), check.out() + check.err());

    Run rest =
        oranc(
            Map.of(),
            "",
            "gc",
            target,
            "--keep-days",
            "0",
            "--grace",
            "0s",
            "--max-deletes-per-minute",
            "0",
            "--json");
    assertEquals(0, rest.exit(), rest.err());
    Map<String, Object> summary = json(rest.out());
    long deleted =
        ((Number) summary.get("narinfosDeleted")).longValue()
            + ((Number) summary.get("narsDeleted")).longValue();
    // Up to -p (4) deletes were in flight at the kill: the registry may finish them after `left`
    // was counted, so the rerun finds that many fewer.
    assertTrue(
        deleted <= left && deleted >= left - 4,
        left + " left, " + deleted + " deleted: " + rest.out());
    assertEquals(List.of(), registry.tags(repo));
  }

  /**
   * A push running while gc runs with its default grace ({@code --keep-days 0}, so that the grace
   * alone protects the push) loses nothing. The cache holds 200 paths written 60 days ago and
   * pinned by nothing, which gc deletes, paced so that deleting them takes a while; one push starts
   * when gc starts reading the repository (its writes land during the scan), another when the
   * registry sees gc's first delete (its writes land among the deletes). Afterwards gc has deleted
   * exactly the old paths, {@code check} passes, and every path of both pushes substitutes through
   * the server with signatures required.
   */
  @Test
  void aPushRunningDuringGcLosesNothing(@TempDir Path tmp) throws Exception {
    Registry registry = registries.get();
    String repo = "e2e/concurrent";
    List<String> target =
        List.of("--registry", registry.address(), "--repository", repo, "--no-ssl");
    writeSyntheticCache(registry, repo, 20, 10, Instant.now().minus(Duration.ofDays(60)));
    assertEquals(400, registry.tags(repo).size());
    Nix.KeyPair key = Nix.generateKey("oranc-e2e-concurrent-1");
    Map<String, String> env = Map.of("ORANC_SIGNING_KEY", key.secret());
    try (Nix nix = new Nix();
        ServerProcess server = ServerProcess.start()) {
      // Two closures per push, each a path and its dependency.
      List<Nix.StorePathInfo> first = new ArrayList<>();
      List<Nix.StorePathInfo> second = new ArrayList<>();
      for (List<Nix.StorePathInfo> push : List.of(first, second)) {
        for (int i = 0; i < 2; i++) {
          String name = "oranc-gc-concurrent-" + (push == first ? "one" : "two") + "-" + i;
          Nix.StorePathInfo dep = nix.build(name + "-dep", "dependency " + name);
          push.add(dep);
          push.add(nix.build(name, "top " + name, List.of(dep.path())));
        }
      }
      registry.resetCounters();

      // --keep-days 0, so that only the default --grace (1h) protects what the pushes write;
      // 400 deletes at 8 a second take 50 s.
      List<String> command = new ArrayList<>(List.of(LAUNCHER, "gc"));
      command.addAll(target);
      command.addAll(
          List.of("--keep-days", "0", "--max-deletes-per-minute", "480", "-p", "2", "--json"));
      Process gc =
          new ProcessBuilder(command)
              .redirectOutput(tmp.resolve("gc.out").toFile())
              .redirectError(tmp.resolve("gc.err").toFile())
              .start();
      try {
        awaitRequests(registry, gc, "GET", ".*/tags/list", 1);
        Run one = oranc(env, tops(first), "push", target);
        assertEquals(0, one.exit(), one.err());
        awaitRequests(registry, gc, "DELETE", ".*/manifests/.*", 1);
        int mark = registry.accessLog().size();
        Run two = oranc(env, tops(second), "push", target);
        assertEquals(0, two.exit(), two.err());
        assertTrue(gc.waitFor(5, TimeUnit.MINUTES), "gc did not finish");
        // The overlap: gc deleted after the second push's first tag went up.
        List<AccessLogEntry> after = registry.accessLog();
        after = after.subList(mark, after.size());
        int firstPut = -1;
        for (int i = 0; i < after.size() && firstPut < 0; i++) {
          if (after.get(i).matches("PUT", ".*/manifests/.*")) {
            firstPut = i;
          }
        }
        assertTrue(firstPut >= 0, "the second push wrote no tag");
        assertTrue(
            after.subList(firstPut, after.size()).stream()
                .anyMatch(e -> e.matches("DELETE", ".*/manifests/.*")),
            "gc deleted nothing after the second push's first tag: they did not overlap");
      } finally {
        gc.destroyForcibly();
      }
      assertEquals(0, gc.exitValue(), Files.readString(tmp.resolve("gc.err")));
      LeakCheck.verifyNoLeaksIn("oranc gc", Files.readString(tmp.resolve("gc.err")));
      Map<String, Object> summary = json(Files.readString(tmp.resolve("gc.out")));
      assertEquals(200, ((Number) summary.get("narinfosDeleted")).intValue(), summary.toString());
      assertEquals(200, ((Number) summary.get("narsDeleted")).intValue(), summary.toString());

      Run check = oranc(Map.of(), "", "check", target, "--trusted-public-key", key.publicKey());
      assertEquals(0, check.exit(), check.out() + check.err());
      assertTrue(check.err().contains("8 narinfos checked: no problems"), check.err());

      // Every pushed path, gone from the store, comes back from the cache, signatures required.
      String cache = server.cacheUrl(registry.address(), repo);
      deleteBuiltPaths(nix);
      List<String> realise = new ArrayList<>(List.of("nix-store", "--realise"));
      List<Nix.StorePathInfo> all = new ArrayList<>(first);
      all.addAll(second);
      for (Nix.StorePathInfo p : all) {
        assertFalse(Files.exists(Path.of(p.path()), LinkOption.NOFOLLOW_LINKS), p.path());
        realise.add(p.path());
      }
      realise.addAll(
          List.of(
              "--option",
              "substituters",
              cache,
              "--option",
              "trusted-public-keys",
              key.publicKey()));
      Nix.Result substituted = Nix.exec(null, Duration.ofMinutes(2), realise);
      assertTrue(substituted.succeeded(), substituted.stderr());
      for (Nix.StorePathInfo p : all) {
        assertTrue(Files.exists(Path.of(p.path())), p.path());
      }
    }
  }

  static String tops(List<Nix.StorePathInfo> paths) {
    StringBuilder s = new StringBuilder();
    for (int i = 1; i < paths.size(); i += 2) {
      s.append(paths.get(i).path()).append('\n');
    }
    return s.toString();
  }

  /** Waits until the registry has seen {@code count} such requests (gc must still be running). */
  static void awaitRequests(Registry registry, Process gc, String method, String path, int count)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (registry.accessLog(method, path).size() < count) {
      if (!gc.isAlive()) {
        throw new AssertionError(
            "gc ended (exit "
                + gc.exitValue()
                + ") before the registry saw "
                + method
                + " "
                + path);
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the registry saw no " + method + " " + path + " in 2 minutes");
      }
      Thread.sleep(20);
    }
  }

  static void writeSyntheticCache(Registry registry, String repo, int chains, int length)
      throws Exception {
    writeSyntheticCache(registry, repo, chains, length, null);
  }

  /**
   * As above; with {@code created}, every key says it was written then (as an old cache's keys do),
   * else now.
   */
  static void writeSyntheticCache(
      Registry registry, String repo, int chains, int length, Instant created) throws Exception {
    Random random = new Random(17);
    try (RegistryClient client =
        new RegistryClient(RegistryClientConfig.builder().tls(false).build())) {
      var cache = new OciBinaryCache(client, TagCodec.DEFAULT);
      var ref = RepositoryRef.of(registry.address(), repo);
      var credentials = Credentials.anonymous();
      List<CompletableFuture<?>> pending = new ArrayList<>();
      for (int c = 0; c < chains; c++) {
        String previous = null;
        for (int i = 0; i < length; i++) {
          byte[] hashBytes = new byte[20];
          random.nextBytes(hashBytes);
          String base = Nix32.encode(hashBytes) + "-synthetic-" + c + "-" + i;
          byte[] nar = new byte[64 + random.nextInt(64)];
          random.nextBytes(nar);
          byte[] fileHash = MessageDigest.getInstance("SHA-256").digest(nar);
          String narKey = "nar/" + HexFormat.of().formatHex(fileHash) + ".nar.zst";
          String narinfo =
              "StorePath: /nix/store/"
                  + base
                  + "\n"
                  + "URL: "
                  + narKey
                  + "\n"
                  + "Compression: zstd\n"
                  + "FileHash: sha256:"
                  + Nix32.encode(fileHash)
                  + "\n"
                  + "FileSize: "
                  + nar.length
                  + "\n"
                  + "NarHash: sha256:"
                  + Nix32.encode(fileHash)
                  + "\n"
                  + "NarSize: "
                  + nar.length
                  + "\n"
                  + "References: "
                  + (previous == null ? "" : previous)
                  + "\n";
          byte[] narinfoBytes = narinfo.getBytes(StandardCharsets.UTF_8);
          String narinfoKey = base.substring(0, 32) + ".narinfo";
          pending.add(
              client
                  .putBlob(ref, nar, null, "application/octet-stream", credentials, null)
                  .thenCompose(
                      d -> publish(client, cache, ref, narKey, d, "application/x-nix-nar", created))
                  .thenCompose(
                      t ->
                          client.putBlob(
                              ref,
                              narinfoBytes,
                              null,
                              "application/octet-stream",
                              credentials,
                              null))
                  .thenCompose(
                      d ->
                          publish(
                              client, cache, ref, narinfoKey, d, "text/x-nix-narinfo", created)));
          previous = base;
        }
        if (pending.size() >= 40) {
          for (var f : pending) {
            f.get(2, TimeUnit.MINUTES);
          }
          pending.clear();
        }
      }
      for (var f : pending) {
        f.get(2, TimeUnit.MINUTES);
      }
    }
  }

  private static CompletableFuture<?> publish(
      RegistryClient client,
      OciBinaryCache cache,
      RepositoryRef ref,
      String key,
      Descriptor blob,
      String contentType,
      Instant created) {
    var credentials = Credentials.anonymous();
    if (created == null) {
      return cache.publish(ref, key, blob, contentType, null, credentials, null);
    }
    var layer = ImageLayout.layer(blob.digest(), blob.size(), contentType, null, Map.of());
    return cache
        .putConfig(ref, blob.digest(), credentials, null)
        .thenCompose(
            config ->
                client.putManifest(
                    ref,
                    cache.codec().writeTag(key).value(),
                    ImageLayout.manifest(key, layer, config, created),
                    credentials,
                    null));
  }

  static Run oranc(
      Map<String, String> env, String stdin, String command, List<String> target, String... more)
      throws Exception {
    List<String> args = new ArrayList<>(List.of(command.split(" ")));
    args.addAll(target);
    args.addAll(List.of(more));
    return PushThroughServerIT.oranc(env, stdin, args.toArray(String[]::new));
  }

  static Run oranc(
      Map<String, String> env,
      String stdin,
      String command,
      String sub,
      List<String> target,
      String... more)
      throws Exception {
    return oranc(env, stdin, command + " " + sub, target, more);
  }

  /** Deletes every path {@code nix} built from the store, those referring to others first. */
  private static void deleteBuiltPaths(Nix nix) {
    List<String> built = new ArrayList<>(nix.builtPaths());
    Collections.reverse(built);
    List<String> delete = new ArrayList<>(List.of("nix-store", "--delete"));
    delete.addAll(built);
    Nix.Result deleted = Nix.exec(null, Duration.ofMinutes(1), delete);
    assertTrue(deleted.succeeded(), deleted.stderr());
  }
}
