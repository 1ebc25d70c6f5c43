package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Upload sessions opened ahead, against the real CNCF registry (through its counting proxy): a body
 * held in memory then goes up in one PUT; a session the registry dropped, or one too old, is
 * replaced by a fresh one transparently; nothing is opened before an upload with the credentials
 * succeeded.
 */
class UploadSessionsAheadTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = nanos::get;

  private RegistryClient client() {
    return new RegistryClient(
        RegistryClientConfig.builder()
            .tls(false)
            .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
            .monolithicUploadBytes(64 * 1024)
            .checkBeforeUpload(false)
            .uploadSessionReserve(2)
            .build(),
        Transport.newGroup(1, "ahead-test"),
        true,
        ticker);
  }

  private static List<String> requests(Registry r) {
    return r.proxiedRequests().stream()
        .filter(q -> q.status() != 401)
        .map(q -> q.method() + " " + q.status())
        .toList();
  }

  private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 30 s: " + what);
      }
      Thread.sleep(10);
    }
  }

  /** Waits until the reserve of {@code repo} holds two open sessions, and returns them. */
  private static List<URI> reserved(RegistryClient client, RepositoryRef repo, Credentials c)
      throws Exception {
    UploadSessionReserve.Scope scope =
        new UploadSessionReserve.Scope(
            client.registryOrigin(repo), repo.repository(), c.fingerprint());
    List<CompletableFuture<URI>> held = client.sessionReserve().peek(scope);
    assertEquals(2, held.size(), "the reserve holds two sessions");
    return List.of(await(held.get(0)), await(held.get(1)));
  }

  private static byte[] bytes(int n, long seed) {
    return RegistryClientTest.randomBytes(n, seed);
  }

  private static byte[] download(
      RegistryClient client, RepositoryRef repo, Digest digest, Credentials c) throws Exception {
    BlobDownload d = await(client.getBlob(repo, digest, null, c, null));
    CollectingConsumer consumer = new CollectingConsumer(Integer.MAX_VALUE);
    d.start(consumer);
    await(consumer.done);
    return consumer.bytes();
  }

  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"ANONYMOUS", "TOKEN"})
  void aBodyAfterTheFirstGoesUpInItsFinalPutAlone(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    Credentials c = RegistryClientTest.writer(r);
    RepositoryRef repo =
        RepositoryRef.of(r.proxyAddress(), "ahead/" + flavour.name().toLowerCase());
    try (RegistryClient client = client()) {
      r.resetCounters();
      byte[] first = bytes(30_000, 1);
      Descriptor d1 =
          await(client.putBlob(repo, first, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      // The single-POST probe (a session, as distribution answers), its PUT, then two opened ahead.
      List<URI> held = reserved(client, repo, c);
      assertEquals(List.of("POST 202", "PUT 201", "POST 202", "POST 202"), requests(r));
      r.resetCounters();
      byte[] second = bytes(30_000, 2);
      Descriptor d2 =
          await(client.putBlob(repo, second, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      List<ProxiedRequest> puts = r.proxiedRequests("PUT", ".*/blobs/uploads/.*");
      assertEquals(1, puts.size(), r.proxiedRequests().toString());
      assertTrue(
          puts.get(0).uri().startsWith(held.get(0).getRawPath()),
          "the oldest session was used: " + puts);
      // The one used is replaced: one POST after the PUT, none before it.
      waitFor(() -> requests(r).size() >= 2 && !requests(r).get(1).endsWith(" 0"), "the refill");
      assertEquals(List.of("PUT 201", "POST 202"), requests(r));
      assertArrayEquals(first, download(client, repo, d1.digest(), c));
      assertArrayEquals(second, download(client, repo, d2.digest(), c));
    }
  }

  @ParameterizedTest
  // Not TOKEN: the test's token service does not let a push token DELETE an upload session.
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"ANONYMOUS", "BASIC"})
  void aSessionTheRegistryDroppedIsReplacedByAFreshOne(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    Credentials c = RegistryClientTest.writer(r);
    RepositoryRef repo =
        RepositoryRef.of(r.proxyAddress(), "ahead/dropped-" + flavour.name().toLowerCase());
    try (RegistryClient client = client()) {
      await(client.putBlob(repo, bytes(1000, 3), null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      List<URI> held = reserved(client, repo, c);
      r.resetCounters();
      // The registry forgets both (as one that purges idle sessions would).
      for (URI u : held) {
        client.cancelUploadSession(repo, u, c, client.group().next());
      }
      waitFor(
          () ->
              r.proxiedRequests("DELETE", ".*/blobs/uploads/.*").stream()
                      .filter(q -> q.status() == 204)
                      .count()
                  == 2,
          "the two DELETEs");
      r.resetCounters();
      byte[] body = bytes(20_000, 4);
      Descriptor d = await(client.putBlob(repo, body, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      List<String> seen = requests(r);
      assertEquals(List.of("PUT 404", "POST 202", "PUT 201"), seen.subList(0, 3), seen.toString());
      assertArrayEquals(body, download(client, repo, d.digest(), c));
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"ANONYMOUS"})
  void aSessionKeptTooLongIsDeletedAndNotUsed(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    Credentials c = RegistryClientTest.writer(r);
    RepositoryRef repo = RepositoryRef.of(r.proxyAddress(), "ahead/expired");
    try (RegistryClient client = client()) {
      await(client.putBlob(repo, bytes(1000, 5), null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      List<URI> held = reserved(client, repo, c);
      r.resetCounters();
      nanos.addAndGet(UploadSessionReserve.MAX_AGE.toNanos() + 1);
      byte[] body = bytes(20_000, 6);
      Descriptor d = await(client.putBlob(repo, body, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      waitFor(
          () -> r.proxiedRequests("DELETE", ".*/blobs/uploads/.*").size() == 2,
          "the expired sessions' DELETEs");
      List<ProxiedRequest> deletes = r.proxiedRequests("DELETE", ".*/blobs/uploads/.*");
      assertEquals(
          held.stream().map(URI::getRawPath).sorted().toList(),
          deletes.stream().map(ProxiedRequest::path).sorted().toList());
      List<ProxiedRequest> puts = r.proxiedRequests("PUT", ".*/blobs/uploads/.*");
      assertEquals(1, puts.size());
      assertTrue(
          held.stream().noneMatch(u -> puts.get(0).uri().startsWith(u.getRawPath())),
          "an expired session was used");
      assertArrayEquals(body, download(client, repo, d.digest(), c));
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"TOKEN"})
  void nothingIsOpenedAheadForCredentialsTheRegistryRefused(RegistryFlavour flavour)
      throws Exception {
    Registry r = registries.get(flavour);
    Credentials wrong = Credentials.basic(Registry.USER, "not-the-password");
    RepositoryRef repo = RepositoryRef.of(r.proxyAddress(), "ahead/refused");
    try (RegistryClient client = client()) {
      r.resetCounters();
      CompletableFuture<Descriptor> f =
          client.putBlob(repo, bytes(1000, 7), null, ImageLayout.LAYER_MEDIA_TYPE, wrong, null);
      RegistryClientFaultTest.failure(f);
      assertEquals(0, client.sessionReserve().size());
      assertEquals(0, client.sessionReserve().scopes());
    }
  }
}
