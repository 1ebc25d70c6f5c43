package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import dev.oranc.testkit.SinglePostFront;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a push of fresh paths costs the registry, per path (issue 16, point 3): 6 requests where the
 * registry takes a small blob in one request (NAR, narinfo and both configs one each, two tags), 10
 * on the CNCF registry, which needs a session and a PUT per blob; and the narinfo's tag still goes
 * up only after its NAR's.
 */
class PushRequestsTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  /** Requests a push may make besides its paths': the tag listing, nix-cache-info. */
  static final int OVERHEAD = 6;

  static final int PATHS = 12;

  static TestStore store;
  static Nix.KeyPair key;

  @BeforeAll
  static void build() {
    store = new TestStore();
    key = Nix.generateKey("oranc-push-requests-1");
  }

  @AfterAll
  static void delete() {
    if (store != null) {
      store.close();
    }
  }

  /** {@code PATHS} fresh small paths, half of them referring to the one before. */
  static List<String> freshPaths(String tag) {
    List<TestStore.Drv> drvs = new ArrayList<>();
    for (int i = 0; i < PATHS; i++) {
      String name = tag + i;
      String script = "mkdir $out; echo " + name + " > $out/file; " + TestStore.REFER_TO_DEPS;
      drvs.add(
          i % 2 == 1
              ? new TestStore.Drv(name, script, List.of(tag + (i - 1)))
              : new TestStore.Drv(name, script));
    }
    return List.copyOf(store.build(drvs).values());
  }

  /**
   * The cache gets its nix-cache-info first (a push into an empty cache writes it, which is not
   * what these counts are about).
   */
  static void initialized(PushRunner runner, String repository) throws Exception {
    new Push(runner.options(repository).build(), runner.environment()).initialize(41, true);
  }

  @Test
  void aRegistryThatTakesASmallBlobInOneRequestCostsSixRequestsPerFreshPath() throws Exception {
    List<String> paths = freshPaths("single");
    PushRunner runner = new PushRunner(registries.get(), key);
    initialized(runner, "requests/single");
    try (SinglePostFront front = new SinglePostFront(registries.get().proxyAddress())) {
      PushReport report =
          PushRunner.push(
              PushOptions.builder(front.address(), "requests/single").noSsl(true).build(),
              runner.environment(),
              paths);
      assertTrue(report.succeeded(), report.summary().toString());
      assertEquals(PATHS, report.count(Status.PUSHED), report.summary().toString());

      List<SinglePostFront.Request> requests = front.requests();
      System.err.println(
          "single POST: " + requests.size() + " requests for " + PATHS + " fresh paths");
      assertTrue(
          requests.size() <= 7 * PATHS,
          requests.size() + " requests for " + PATHS + " paths: " + requests);
      long perPath = requests.stream().filter(r -> !r.method().equals("GET")).count();
      assertTrue(
          perPath <= 6 * PATHS + OVERHEAD,
          perPath + " writes for " + PATHS + " paths: " + requests);
      // Every blob went up in one request: no session was opened, no PUT closed one.
      assertEquals(
          0,
          requests.stream().filter(r -> r.matches("PUT", "/blobs/uploads/")).count(),
          requests.toString());
      assertEquals(
          0,
          requests.stream().filter(r -> r.matches("PATCH", "/blobs/uploads/")).count(),
          requests.toString());
      assertTagOrder(
          "requests/single",
          paths,
          requests.stream().map(r -> r.method() + " " + r.uri()).toList());
    }
  }

  /**
   * The round trips a fresh path waits on one after another, its writes only (its two look-ups come
   * first): 3 where the registry takes a small blob in one request (the NAR's blob, its tag, the
   * narinfo's tag), 4 on the CNCF registry (the NAR's POST and PUT); everything else goes up beside
   * them. Each answer is held 100 ms, so requests sent together are in flight together; the chain
   * counted is an upper bound (a request counts after every answer that left before it arrived).
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aFreshPathWaitsOnAtMostSixRoundTrips(boolean singlePost) throws Exception {
    List<String> path =
        List.copyOf(
            store
                .build(
                    List.of(
                        new TestStore.Drv(
                            "chain" + singlePost, "mkdir $out; echo one > $out/file")))
                .values());
    PushRunner runner = new PushRunner(registries.get(), key);
    initialized(runner, "requests/chain-" + singlePost);
    try (SinglePostFront front =
        new SinglePostFront(registries.get().proxyAddress(), singlePost, 100)) {
      PushReport report =
          PushRunner.push(
              PushOptions.builder(front.address(), "requests/chain-" + singlePost)
                  .noSsl(true)
                  .build(),
              runner.environment(),
              path);
      assertEquals(1, report.count(Status.PUSHED), report.summary().toString());
      List<SinglePostFront.Request> writes =
          front.requests().stream()
              .filter(r -> !r.method().equals("GET") && !r.method().equals("HEAD"))
              .toList();
      int chain = SinglePostFront.longestChain(writes);
      System.err.println(
          (singlePost ? "single POST" : "CNCF") + ": " + writes.size() + " writes, chain " + chain);
      assertEquals(singlePost ? 6 : 10, writes.size(), writes.toString());
      assertTrue(chain <= 6, "a chain of " + chain + " round trips: " + writes);
    }
  }

  @Test
  void onTheCncfRegistryAFreshPathCostsTenRequestsAndNoHead() throws Exception {
    List<String> paths = freshPaths("cncf");
    PushRunner runner = new PushRunner(registries.get(), key);
    initialized(runner, "requests/cncf");
    registries.get().resetCounters();
    PushReport report = runner.push("requests/cncf", paths);
    assertTrue(report.succeeded(), report.summary().toString());
    assertEquals(PATHS, report.count(Status.PUSHED), report.summary().toString());

    List<ProxiedRequest> requests = registries.get().proxiedRequests();
    System.err.println("CNCF: " + requests.size() + " requests for " + PATHS + " fresh paths");
    assertTrue(
        requests.size() <= 10 * PATHS + OVERHEAD, requests.size() + " requests: " + requests);
    assertEquals(
        0, requests.stream().filter(r -> r.method().equals("HEAD")).count(), requests.toString());
    // It answers a single POST with a session: each blob is that session's PUT, 4 per path.
    assertEquals(4 * PATHS, Uploads.blobDigests(requests).size(), requests.toString());
    assertTagOrder(
        "requests/cncf", paths, requests.stream().map(r -> r.method() + " " + r.uri()).toList());
  }

  /**
   * docs/ARCHITECTURE.md, push step 2: for 8 paths or more, one tag listing replaces two look-ups
   * per path, and a path whose keys are not listed costs no request: one {@code GET …/tags/list}
   * (one page here), and no manifest of a path is looked up.
   */
  @Test
  void aPushOfEightPathsOrMoreListsTheTagsOnceAndLooksNoPathUp() throws Exception {
    List<String> paths = freshPaths("listed");
    PushRunner runner = new PushRunner(registries.get(), key);
    initialized(runner, "requests/listed");
    registries.get().resetCounters();
    PushReport report = runner.push("requests/listed", paths);
    assertTrue(report.succeeded(), report.summary().toString());
    assertEquals(PATHS, report.count(Status.PUSHED), report.summary().toString());

    List<ProxiedRequest> requests = registries.get().proxiedRequests();
    assertEquals(
        1, registries.get().proxiedRequests("GET", ".*/tags/list").size(), requests.toString());
    List<ProxiedRequest> lookUps =
        requests.stream()
            .filter(r -> r.method().equals("GET") || r.method().equals("HEAD"))
            .filter(r -> r.path().contains("/manifests/") && !r.path().endsWith("/nix-cache-info"))
            .toList();
    assertEquals(List.of(), lookUps, "look-ups of paths the listing did not name");
  }

  /**
   * In the order the registry saw them, each narinfo's tag comes after the tag of the NAR it names
   * (the proxies record a request when it arrives; the push sends the narinfo's tag only once the
   * NAR's was answered).
   */
  static void assertTagOrder(String repository, List<String> paths, List<String> requests) {
    CacheReader cache = new CacheReader(registries.get(), repository);
    for (String path : paths) {
      String hash = StorePath.parse(path).hashPart();
      String url = cache.narInfo(path).orElseThrow().url();
      int narInfo = indexOf(requests, "PUT .*/manifests/" + hash + "\\.narinfo$");
      int nar =
          indexOf(
              requests,
              "PUT .*/manifests/" + Pattern.quote(TagCodec.DEFAULT.writeTag(url).value()) + "$");
      assertTrue(
          nar >= 0 && narInfo > nar,
          path
              + ": narinfo tag at "
              + narInfo
              + ", its NAR's ("
              + url
              + ") at "
              + nar
              + ": "
              + requests);
    }
  }

  static int indexOf(List<String> requests, String regex) {
    for (int i = 0; i < requests.size(); i++) {
      if (requests.get(i).matches(regex)) {
        return i;
      }
    }
    return -1;
  }
}
