package dev.oranc.proxy.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.proxy.metrics.ServerMetrics;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the prefetcher takes from a narinfo, without a registry: the loop it is handed is shut down
 * (as a closing server's are), so every prefetch it starts ends at once as {@code failed}, and the
 * counts say which keys it tried. The registry side is {@code PrefetchTest}'s.
 */
class PrefetcherTest {

  private static final RepositoryRef REPO = RepositoryRef.of("registry.example", "o/c");
  private static final String HASH = "0c5ahchgqzc0bbbibdhvqs6cmfx5kmfa";

  private final ServerMetrics metrics = new ServerMetrics();
  private final LayerCache layers =
      new LayerCache(100, Duration.ofMinutes(5), Duration.ofSeconds(5), Ticker.systemTicker());
  private final BlobCache blobs =
      new BlobCache(1 << 20, 64 << 10, Duration.ofHours(1), Ticker.systemTicker());
  private EventLoop closed;
  private Prefetcher prefetcher;

  @BeforeEach
  void setUp() {
    closed = new DefaultEventLoop();
    closed.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    prefetcher = new Prefetcher(null, layers, blobs, metrics, 2, 10);
  }

  @AfterEach
  void idle() throws InterruptedException {
    assertTrue(prefetcher.awaitIdle(Duration.ofSeconds(5)));
    assertEquals(0, prefetcher.pending());
  }

  private static byte[] narinfo(String url, String references) {
    return ("StorePath: /nix/store/"
            + HASH
            + "-a\nURL: "
            + url
            + "\nCompression: xz\nNarHash: sha256:"
            + "0".repeat(52)
            + "\nNarSize: 1\nReferences: "
            + references
            + "\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  private void served(byte[] narinfo, boolean fetched) {
    prefetcher.narinfoServed(
        REPO, HASH + ".narinfo", narinfo, fetched, Credentials.anonymous(), closed);
  }

  @Test
  void aFetchedNarinfoPrefetchesItsNarAndItsReferencesButNotItself() {
    served(
        narinfo(
            "nar/abc.nar.xz",
            HASH + "-a 1d6bjdhhrzd1cccjcdjwrs7dnfy6lnfb-b 2f7cjfjjsaf2dddkdfkxsv8fpgz7mpgc-c"),
        true);
    assertEquals(3, metrics.prefetches("failed"), "the NAR, b and c; not the path itself");
  }

  @Test
  void aNarinfoFromTheCachesPrefetchesOnlyItsNar() {
    served(narinfo("nar/abc.nar.xz", "1d6bjdhhrzd1cccjcdjwrs7dnfy6lnfb-b"), false);
    assertEquals(1, metrics.prefetches("failed"));
  }

  @Test
  void aUrlOutsideTheRepositoryIsNeverFetched() {
    for (String url :
        new String[] {
          "https://elsewhere.example/nar/x.nar",
          "/nar/x.nar",
          "../other/nar/x.nar",
          "nar/../../x.nar",
          "nar/%2e%2e/x.nar",
          "nar/x.nar?y",
          HASH + ".narinfo"
        }) {
      served(narinfo(url, ""), false);
    }
    assertEquals(0, metrics.prefetches("failed"));
    assertEquals(0, metrics.prefetches("done"));
  }

  @Test
  void whatIsNoNarinfoIsIgnoredAndNeverThrows() {
    served("not a narinfo".getBytes(StandardCharsets.UTF_8), true);
    served(new byte[] {(byte) 0xff, 0, 1}, true);
    prefetcher.narinfoServed(
        REPO,
        "nix-cache-info",
        narinfo("nar/abc.nar.xz", ""),
        true,
        Credentials.anonymous(),
        closed);
    assertEquals(0, metrics.prefetches("failed"));
  }

  @Test
  void boundsAreChecked() {
    assertThrows(
        IllegalArgumentException.class, () -> new Prefetcher(null, layers, blobs, metrics, 0, 10));
    assertThrows(
        IllegalArgumentException.class, () -> new Prefetcher(null, layers, blobs, metrics, 1, -1));
  }
}
