package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * docs/SERVER.md's {@code --layer-cache-entries} and {@code --blob-cache-size} are bounds: more
 * keys and narinfo bytes than they allow are read through a real server, and the caches hold no
 * more than the bound, counting what they evicted ({@code oranc_cache_evictions_total}); what was
 * evicted is still served, from the registry.
 */
class CacheBoundsTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static final int FILES = 8;
  private static final int NARINFO_BYTES = 1000;

  @Test
  void theLayerAndBlobCachesStayWithinTheirBoundsAndCountEvictions() throws Exception {
    String base = "/" + registry.get().address() + "/test/bounds";
    try (TestServer server =
        TestServer.start(
            b -> b.layerCacheEntries(3).blobCacheBytes(3 * NARINFO_BYTES).prefetchConcurrency(0))) {
      for (int i = 0; i < FILES; i++) {
        HttpResponse<byte[]> put =
            server.put(
                base + "/k" + i + ".narinfo",
                narinfo(i),
                null,
                "Content-Type",
                "text/x-nix-narinfo");
        assertEquals(200, put.statusCode(), TestServer.text(put));
      }
      server.server.clearCaches();
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < FILES; i++) {
          HttpResponse<byte[]> get = server.get(base + "/k" + i + ".narinfo", null);
          assertEquals(200, get.statusCode(), TestServer.text(get));
          assertEquals(new String(narinfo(i), StandardCharsets.UTF_8), TestServer.text(get));
        }
      }
      String metrics = TestServer.text(server.get("/-/metrics", null));
      assertTrue(sample(metrics, "oranc_cache_entries{cache=\"layer\"}") <= 3, metrics);
      assertTrue(
          sample(metrics, "oranc_cache_evictions_total{cache=\"layer\"}") >= FILES - 3, metrics);
      assertTrue(
          sample(metrics, "oranc_cache_bytes{cache=\"blob\"}") <= 3 * NARINFO_BYTES, metrics);
      assertTrue(
          sample(metrics, "oranc_cache_evictions_total{cache=\"blob\"}") >= FILES - 3, metrics);
    }
  }

  /** A narinfo-like text of exactly {@code NARINFO_BYTES} bytes, different for each i. */
  private static byte[] narinfo(int i) {
    String head = "StorePath: /nix/store/" + "k".repeat(31) + i + "-bound\nComment: ";
    return (head + "x".repeat(NARINFO_BYTES - head.length() - 1) + "\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static long sample(String metrics, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\d+)$").matcher(metrics);
    assertTrue(m.find(), series + " in\n" + metrics);
    return Long.parseLong(m.group(1));
  }
}
