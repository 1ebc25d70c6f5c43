package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The caches never serve one credential's answer to another, also when the requests race: with the
 * caches cold, 96 requests for the same private files start at once — a third with the right
 * credentials, a third anonymous, a third with a wrong password — for a narinfo (small-blob cache)
 * and a NAR (streamed). Every right one gets the bytes; no other one ever does, nor a 404 that a
 * concurrent refusal could have left in the cache for the right ones. Sequential isolation is
 * {@code ServerRegistryTest}'s; this is the race.
 */
class CredentialIsolationTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.BASIC);

  @Test
  void racingRequestsWithDifferentCredentialsEachGetTheirOwnAnswer() throws Exception {
    Registry r = registry.get();
    String user = TestServer.basic(Registry.USER, Registry.PASSWORD);
    String wrong = TestServer.basic(Registry.USER, "not-the-password");
    byte[] narinfo =
        "StorePath: /nix/store/isolated\nX-Marker: private-content-marker\n"
            .getBytes(StandardCharsets.UTF_8);
    byte[] nar = new byte[300_000];
    new Random(11).nextBytes(nar);
    try (TestServer server = TestServer.start()) {
      String base = "/" + r.address() + "/private/isolated";
      assertEquals(200, server.put(base + "/i.narinfo", narinfo, user).statusCode());
      assertEquals(200, server.put(base + "/nar/i.nar", nar, user).statusCode());
      for (int round = 0; round < 3; round++) {
        server.server.clearCaches();
        ExecutorService pool = Executors.newFixedThreadPool(48);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> all = new ArrayList<>();
        try {
          for (int i = 0; i < 96; i++) {
            String auth = i % 3 == 0 ? user : i % 3 == 1 ? null : wrong;
            String path = i % 2 == 0 ? base + "/i.narinfo" : base + "/nar/i.nar";
            byte[] expected = i % 2 == 0 ? narinfo : nar;
            all.add(
                pool.submit(
                    () -> {
                      go.await();
                      HttpResponse<byte[]> resp = server.get(path, auth);
                      if (auth == user) {
                        assertEquals(200, resp.statusCode(), path + " with the right credentials");
                        assertArrayEquals(expected, resp.body());
                      } else {
                        assertEquals(
                            401,
                            resp.statusCode(),
                            path + (auth == null ? " anonymous" : " with a wrong password"));
                        assertFalse(
                            new String(resp.body(), StandardCharsets.ISO_8859_1)
                                .contains("private-content-marker"));
                        assertFalse(
                            resp.body().length >= nar.length,
                            "a refused request got a NAR's worth of bytes");
                      }
                      return "ok";
                    }));
          }
          go.countDown();
          for (Future<String> f : all) {
            assertEquals("ok", f.get(60, TimeUnit.SECONDS));
          }
        } finally {
          pool.shutdownNow();
        }
      }
    }
  }
}
