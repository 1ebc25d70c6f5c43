package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Nix;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A push into a cache without {@code nix-cache-info} writes it (with {@code push initialize}'s
 * defaults) and says so; an existing one is left as it is; a dry run only says it would.
 */
class CacheInfoTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.TOKEN);

  static TestStore store;
  static Nix.KeyPair key;
  static Map<String, String> closure;

  @BeforeAll
  static void build() {
    store = new TestStore();
    key = Nix.generateKey("oranc-cache-info-test");
    closure = store.build(List.of(new TestStore.Drv("one", "echo one > $out")));
  }

  @AfterAll
  static void delete() {
    if (store != null) {
      store.close();
    }
  }

  private PushRunner runner() {
    return new PushRunner(registries.get(), key);
  }

  private String cacheInfo(String repo) {
    return new CacheReader(registries.get(), repo)
        .file(Push.NIX_CACHE_INFO)
        .map(f -> new String(f.bytes(), StandardCharsets.UTF_8))
        .orElse(null);
  }

  @Test
  void aPushIntoAnEmptyCacheWritesNixCacheInfoAndSaysSo() throws Exception {
    String repo = "cacheinfo/empty";
    PushReport report = runner().push(repo, List.of(closure.get("one")));
    assertTrue(report.succeeded(), report.summary().toString());
    assertEquals("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n", cacheInfo(repo));
    assertTrue(
        report.summary().stream()
            .anyMatch(l -> l.startsWith("the cache had no nix-cache-info: wrote it")),
        report.summary().toString());

    // The second push finds it and says nothing about it.
    PushReport again = runner().push(repo, List.of(closure.get("one")));
    assertEquals("", again.cacheInfo());
    assertFalse(
        again.summary().stream().anyMatch(l -> l.contains("nix-cache-info")),
        again.summary().toString());
  }

  @Test
  void anExistingNixCacheInfoIsNotReplaced() throws Exception {
    String repo = "cacheinfo/existing";
    PushRunner runner = runner();
    new Push(runner.options(repo).build(), runner.environment()).initialize(10, false);
    PushReport report = runner.push(repo, List.of(closure.get("one")));
    assertTrue(report.succeeded(), report.summary().toString());
    assertEquals("", report.cacheInfo());
    assertEquals("StoreDir: /nix/store\nWantMassQuery: 0\nPriority: 10\n", cacheInfo(repo));
  }

  @Test
  void aDryRunOnlySaysItWould() throws Exception {
    String repo = "cacheinfo/dry";
    PushReport report = runner().push(repo, List.of(closure.get("one")), o -> o.dryRun(true));
    assertTrue(
        report.cacheInfo().startsWith("the cache has no nix-cache-info: would write it"),
        report.cacheInfo());
    assertEquals(null, cacheInfo(repo));
  }
}
