package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static dev.oranc.common.registry.RegistryClientFaultTest.failure;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.oci.TagList;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import dev.oranc.testkit.SinglePostFront;
import dev.oranc.testkit.TokenPolicy;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The registry client against the real CNCF registry, in each auth flavour. */
class RegistryClientTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static RegistryClient client;

  @BeforeAll
  static void start() {
    client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
                .uploadChunkBytes(256 * 1024)
                .monolithicUploadBytes(64 * 1024)
                .build());
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  static Credentials writer(Registry r) {
    return r.flavour() == RegistryFlavour.ANONYMOUS
        ? Credentials.anonymous()
        : Credentials.basic(Registry.USER, Registry.PASSWORD);
  }

  static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /**
   * Uploads {@code content} through a streaming upload of the given declared size (-1: unknown).
   */
  static Descriptor upload(
      RepositoryRef repo, byte[] content, long declared, Credentials c, int piece)
      throws Exception {
    BlobUpload upload = client.upload(repo, declared, ImageLayout.LAYER_MEDIA_TYPE, c, null);
    for (int at = 0; at < content.length; at += piece) {
      int n = Math.min(piece, content.length - at);
      CompletableFuture<Void> writable = new CompletableFuture<>();
      upload.whenWritable(() -> writable.complete(null));
      await(writable);
      upload.write(Unpooled.copiedBuffer(content, at, n));
    }
    return await(upload.finish());
  }

  static byte[] download(RepositoryRef repo, Digest digest, Credentials c) throws Exception {
    BlobDownload d = await(client.getBlob(repo, digest, null, c, null));
    CollectingConsumer consumer = new CollectingConsumer(Integer.MAX_VALUE);
    d.start(consumer);
    await(consumer.done);
    return consumer.bytes();
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void aFilePublishedIsFoundWithItsContentTypeAndBytes(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef repo = RepositoryRef.of(r.address(), "roundtrip/files");
    Credentials c = writer(r);
    OciBinaryCache cache = new OciBinaryCache(client, TagCodec.DEFAULT);
    byte[] narinfo = "StorePath: /nix/store/abc\n".getBytes(StandardCharsets.UTF_8);
    Descriptor blob =
        await(client.putBlob(repo, narinfo, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
    await(cache.publish(repo, "abc.narinfo", blob, "text/x-nix-narinfo", "br", c, null));

    Optional<StoredFile> found = await(cache.find(repo, "abc.narinfo", c, null));
    assertTrue(found.isPresent());
    assertEquals("text/x-nix-narinfo", found.get().contentType());
    assertEquals("br", found.get().contentEncoding());
    assertEquals(narinfo.length, found.get().size());
    assertArrayEquals(
        narinfo, await(client.getBlobBytes(repo, found.get().digest(), 1024, c, null)));
    assertArrayEquals(narinfo, download(repo, found.get().digest(), c));
    assertEquals(Optional.empty(), await(cache.find(repo, "missing.narinfo", c, null)));

    // The image is what SPEC §1 says, byte for byte where it is ours to decide.
    byte[] manifestJson = r.getManifest("roundtrip/files", "abc.narinfo").orElseThrow();
    Manifest m = Manifest.parse(manifestJson, "test", null);
    assertEquals(Manifest.OCI_MANIFEST, m.mediaType());
    assertEquals("abc.narinfo", m.annotations().get("com.linyinfeng.oranc.key"));
    assertEquals("abc.narinfo", m.annotations().get("org.opencontainers.image.description"));
    assertEquals("application/vnd.oci.image.config.v1+json", m.config().mediaType());
    assertEquals(
        "{\"architecture\":\"\",\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
            + blob.digest()
            + "\"]}}",
        new String(
            r.getBlob("roundtrip/files", m.config().digest().toString()), StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void streamedUploadsOfKnownAndUnknownSizeRoundTrip(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef repo = RepositoryRef.of(r.address(), "roundtrip/blobs");
    Credentials c = writer(r);
    for (int size :
        new int[] {
          0, 1, 64 * 1024, 64 * 1024 + 1, 256 * 1024, 256 * 1024 + 7, 3 * 1024 * 1024 + 5
        }) {
      for (long declared : new long[] {-1, size}) {
        byte[] content = randomBytes(size, size * 31L + declared);
        Descriptor d = upload(repo, content, declared, c, 10_000);
        assertEquals(Digest.sha256(content), d.digest(), "size " + size + ", declared " + declared);
        assertEquals(size, d.size());
        assertArrayEquals(
            content, download(repo, d.digest(), c), "size " + size + ", declared " + declared);
        assertEquals(OptionalLong.of(size), await(client.headBlob(repo, d.digest(), c, null)));
      }
    }
  }

  /**
   * A body of known size over {@code monolithicUploadBytes} (here 64 KiB) but under a chunk is
   * relayed in a PATCH as it arrives, not gathered whole in memory for one PUT: the config's
   * contract, and what bounds a server's memory per PUT.
   */
  @Test
  void aKnownSizeOverTheMonolithicBoundStreamsInsteadOfBeingGathered() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    RepositoryRef counted = RepositoryRef.of(r.proxyAddress(), "monolithic/blobs");
    byte[] content = randomBytes(128 * 1024, 11);
    r.resetCounters();
    Descriptor d = upload(counted, content, content.length, Credentials.anonymous(), 8192);
    assertEquals(Digest.sha256(content), d.digest());
    List<ProxiedRequest> requests = r.proxiedRequests();
    assertEquals(
        1,
        requests.stream()
            .filter(q -> q.method().equals("PATCH") && q.bodyBytes() == content.length)
            .count(),
        requests.toString());
    assertTrue(
        requests.stream().noneMatch(q -> q.method().equals("PUT") && q.bodyBytes() > 0),
        requests.toString());
    // Up to the bound, still one PUT after a HEAD.
    r.resetCounters();
    byte[] small = randomBytes(64 * 1024, 12);
    upload(counted, small, small.length, Credentials.anonymous(), 8192);
    requests = r.proxiedRequests();
    assertTrue(requests.stream().anyMatch(q -> q.method().equals("HEAD")), requests.toString());
    assertEquals(
        1,
        requests.stream()
            .filter(q -> q.method().equals("PUT") && q.bodyBytes() == small.length)
            .count(),
        requests.toString());
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void aBlobTheRegistryHasIsNotSentAgain(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef direct = RepositoryRef.of(r.address(), "dedup/blobs");
    RepositoryRef counted = RepositoryRef.of(r.proxyAddress(), "dedup/blobs");
    Credentials c = writer(r);
    byte[] content = randomBytes(40_000, 7);
    Descriptor first =
        await(client.putBlob(direct, content, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
    r.resetCounters();
    Descriptor second =
        await(client.putBlob(counted, content, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
    assertEquals(first, second);
    // And through a streaming upload whose bytes all fit in memory.
    Descriptor third = upload(counted, content, -1, c, 4096);
    assertEquals(first, third);
    List<ProxiedRequest> requests = r.proxiedRequests();
    assertTrue(requests.stream().noneMatch(q -> q.bodyBytes() > 0), "bodies sent: " + requests);
    assertTrue(
        requests.stream().noneMatch(q -> q.method().equals("PUT") || q.method().equals("PATCH")),
        requests.toString());
    assertEquals(
        2,
        requests.stream()
            .filter(q -> q.matches("HEAD", "/v2/dedup/blobs/blobs/.*") && q.status() == 200)
            .count());
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void tagsAreListedAndARepositoryThatDoesNotExistHasNone(RegistryFlavour flavour)
      throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef repo = RepositoryRef.of(r.address(), "tags/listed");
    Credentials c = writer(r);
    OciBinaryCache cache = new OciBinaryCache(client, TagCodec.DEFAULT);
    Descriptor blob =
        await(
            client.putBlob(
                repo, new byte[] {1, 2, 3}, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
    for (String key : List.of("a.narinfo", "nar/b.nar.zst", "nix-cache-info")) {
      await(cache.publish(repo, key, blob, "application/octet-stream", null, c, null));
    }
    TagList tags = await(client.listTags(repo, 1000, 10, c, null));
    assertTrue(tags.complete());
    assertEquals(Set.of("a.narinfo", "nar_L_b.nar.zst", "nix-cache-info"), Set.copyOf(tags.tags()));

    TagList none =
        await(
            client.listTags(RepositoryRef.of(r.address(), "tags/never-pushed"), 1000, 10, c, null));
    assertEquals(new TagList(List.of(), true), none);
  }

  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"ANONYMOUS", "TOKEN"})
  void withoutCheckBeforeUploadASmallBlobGoesUpWithoutAHead(RegistryFlavour flavour)
      throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef counted = RepositoryRef.of(r.proxyAddress(), "nohead/blobs");
    Credentials c = writer(r);
    try (RegistryClient unchecked =
        new RegistryClient(client.config().toBuilder().checkBeforeUpload(false).build())) {
      byte[] content = randomBytes(30_000, 11);
      r.resetCounters();
      Descriptor d =
          await(unchecked.putBlob(counted, content, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      assertEquals(Digest.sha256(content), d.digest());
      // A streamed upload whose bytes fit in memory ends the same way.
      BlobUpload upload = unchecked.upload(counted, -1, ImageLayout.LAYER_MEDIA_TYPE, c, null);
      upload.write(Unpooled.copiedBuffer(randomBytes(20_000, 12)));
      Descriptor streamed = await(upload.finish());
      assertEquals(Digest.sha256(randomBytes(20_000, 12)), streamed.digest());
      List<ProxiedRequest> requests = r.proxiedRequests();
      assertEquals(List.of(), requests.stream().filter(q -> q.method().equals("HEAD")).toList());
      assertEquals(
          2,
          requests.stream()
              .filter(
                  q -> q.matches("POST", "/v2/nohead/blobs/blobs/uploads/") && q.status() == 202)
              .count(),
          requests.toString());
      assertEquals(
          2,
          requests.stream().filter(q -> q.method().equals("PUT") && q.status() == 201).count(),
          requests.toString());
      assertArrayEquals(
          content, download(RepositoryRef.of(r.address(), "nohead/blobs"), d.digest(), c));
    }
  }

  /**
   * The CNCF registry answers a single POST ({@code ?digest=} with the body) with a session: the
   * body then goes in the PUT (two requests, as without the attempt), and the client remembers, so
   * the next POST there carries no body.
   */
  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"ANONYMOUS", "TOKEN"})
  void aRegistryThatOpensASessionForASinglePostIsRemembered(RegistryFlavour flavour)
      throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef counted = RepositoryRef.of(r.proxyAddress(), "single/cncf");
    Credentials c = writer(r);
    try (RegistryClient fresh =
        new RegistryClient(client.config().toBuilder().checkBeforeUpload(false).build())) {
      byte[] first = randomBytes(30_000, 21);
      byte[] second = randomBytes(30_000, 22);
      r.resetCounters();
      assertEquals(Optional.empty(), fresh.singlePostSupported(counted));
      Descriptor d1 =
          await(fresh.putBlob(counted, first, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      assertEquals(Optional.of(false), fresh.singlePostSupported(counted));
      Descriptor d2 =
          await(fresh.putBlob(counted, second, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      List<ProxiedRequest> requests =
          r.proxiedRequests().stream().filter(q -> q.status() != 401).toList();
      assertEquals(
          List.of("POST 30000 202", "PUT 30000 201", "POST 0 202", "PUT 30000 201"),
          requests.stream().map(q -> q.method() + " " + q.bodyBytes() + " " + q.status()).toList(),
          requests.toString());
      assertTrue(requests.get(0).uri().contains("digest=sha256"), requests.toString());
      assertArrayEquals(
          first, download(RepositoryRef.of(r.address(), "single/cncf"), d1.digest(), c));
      assertArrayEquals(
          second, download(RepositoryRef.of(r.address(), "single/cncf"), d2.digest(), c));
    }
  }

  /**
   * A registry that completes a single POST takes a body held in memory in one request; until it
   * has shown that it can, a body over {@code monolithicUploadBytes} does not try.
   */
  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"ANONYMOUS", "TOKEN"})
  void aRegistryThatCompletesASinglePostTakesABodyInOneRequest(RegistryFlavour flavour)
      throws Exception {
    Registry r = registries.get(flavour);
    Credentials c = writer(r);
    try (SinglePostFront front = new SinglePostFront(r.proxyAddress());
        RegistryClient fresh =
            new RegistryClient(client.config().toBuilder().checkBeforeUpload(false).build())) {
      RepositoryRef repo = RepositoryRef.of(front.address(), "single/front");
      byte[] big = randomBytes(100_000, 31);
      byte[] small = randomBytes(30_000, 32);
      byte[] bigAgain = randomBytes(100_000, 33);
      Descriptor d1 = await(fresh.putBlob(repo, big, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      assertEquals(Optional.empty(), fresh.singlePostSupported(repo));
      Descriptor d2 =
          await(fresh.putBlob(repo, small, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      assertEquals(Optional.of(true), fresh.singlePostSupported(repo));
      Descriptor d3 =
          await(fresh.putBlob(repo, bigAgain, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
      List<String> requests =
          front.requests().stream()
              .filter(q -> q.status() != 401)
              .map(
                  q ->
                      q.method()
                          + " "
                          + q.status()
                          + (q.uri().contains("digest=") ? " digest" : ""))
              .toList();
      assertEquals(
          List.of("POST 202", "PUT 201 digest", "POST 201 digest", "POST 201 digest"), requests);
      RepositoryRef real = RepositoryRef.of(r.address(), "single/front");
      assertArrayEquals(big, download(real, d1.digest(), c));
      assertArrayEquals(small, download(real, d2.digest(), c));
      assertArrayEquals(bigAgain, download(real, d3.digest(), c));
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"ANONYMOUS", "BASIC"})
  void aBlobIsMountedFromAnotherRepository(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    Credentials c = writer(r);
    RepositoryRef from = RepositoryRef.of(r.address(), "mount/source");
    RepositoryRef to = RepositoryRef.of(r.address(), "mount/target");
    byte[] content = randomBytes(1000, 99);
    Descriptor d =
        await(client.putBlob(from, content, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
    assertTrue(await(client.mountBlob(to, d.digest(), "mount/source", c, null)));
    assertArrayEquals(content, await(client.getBlobBytes(to, d.digest(), 2000, c, null)));
    assertFalse(await(client.mountBlob(to, new Digest("0".repeat(64)), "mount/source", c, null)));
  }

  @Test
  void oneTokenServesManyRequests() throws Exception {
    Registry r = registries.get(RegistryFlavour.TOKEN);
    RepositoryRef repo = RepositoryRef.of(r.address(), "tokens/many");
    RegistryClient fresh = new RegistryClient(RegistryClientConfig.builder().tls(false).build());
    try {
      Credentials c = Credentials.basic(Registry.USER, Registry.PASSWORD);
      r.resetCounters();
      for (int i = 0; i < 20; i++) {
        assertEquals(Optional.empty(), await(fresh.getManifest(repo, "tag" + i, c, null)));
      }
      assertEquals(1, r.tokenRequests());
      assertEquals(1, fresh.tokenFetches());
    } finally {
      fresh.close();
    }
  }

  @Test
  void anonymousPullsOfATokenRegistryGetAnonymousTokens() throws Exception {
    Registry r = registries.get(RegistryFlavour.TOKEN);
    RepositoryRef repo = RepositoryRef.of(r.address(), "tokens/public");
    Credentials c = Credentials.basic(Registry.USER, Registry.PASSWORD);
    byte[] content = randomBytes(500, 5);
    Descriptor d =
        await(client.putBlob(repo, content, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
    assertArrayEquals(
        content, await(client.getBlobBytes(repo, d.digest(), 1000, Credentials.anonymous(), null)));
    assertTrue(r.tokenRequestLog().stream().anyMatch(t -> t.anonymous() && t.status() == 200));
  }

  @Test
  void aTokenIsFetchedAgainAfterItExpires() throws Exception {
    try (Registry r =
        Registry.start(
            RegistryFlavour.TOKEN,
            Registry.Options.DEFAULT.withTokenPolicy(
                TokenPolicy.DEFAULT.withLifetime(Duration.ofSeconds(300))))) {
      // The client's clock is the test's: a 300 s token (valid at the registry throughout) is
      // kept for 270 s of it, however slow the machine.
      AtomicLong nanos = new AtomicLong();
      RegistryClient fresh =
          new RegistryClient(
              RegistryClientConfig.builder().tls(false).build(),
              Transport.newGroup(1, "token-expiry-test"),
              true,
              nanos::get);
      try {
        RepositoryRef repo = RepositoryRef.of(r.address(), "tokens/expiry");
        Credentials c = Credentials.basic(Registry.USER, Registry.PASSWORD);
        await(fresh.getManifest(repo, "a", c, null));
        nanos.addAndGet(Duration.ofSeconds(269).toNanos());
        await(fresh.getManifest(repo, "b", c, null));
        assertEquals(1, r.tokenRequests());
        nanos.addAndGet(Duration.ofSeconds(2).toNanos());
        await(fresh.getManifest(repo, "c", c, null));
        assertEquals(2, r.tokenRequests());
      } finally {
        fresh.close();
      }
    }
  }

  @Test
  void aTokenTheRegistryRefusesIsRefreshedOnce() throws Exception {
    try (Registry r =
        Registry.start(
            RegistryFlavour.TOKEN,
            Registry.Options.DEFAULT.withTokenPolicy(TokenPolicy.expired()))) {
      RegistryClient fresh = new RegistryClient(RegistryClientConfig.builder().tls(false).build());
      try {
        RepositoryRef repo = RepositoryRef.of(r.address(), "tokens/refresh");
        Credentials c = Credentials.basic(Registry.USER, Registry.PASSWORD);
        // Every token is dead on arrival: one refresh, then the 401 is the answer.
        Throwable t = failure(fresh.getManifest(repo, "a", c, null));
        assertInstanceOf(RegistryException.Unauthorized.class, t);
        assertEquals(2, r.tokenRequests());
        // The token service mends its ways; the cached dead token is refused once, then replaced.
        r.tokenPolicy(TokenPolicy.DEFAULT);
        assertEquals(Optional.empty(), await(fresh.getManifest(repo, "b", c, null)));
        assertEquals(3, r.tokenRequests());
        assertEquals(Optional.empty(), await(fresh.getManifest(repo, "c", c, null)));
        assertEquals(3, r.tokenRequests());
      } finally {
        fresh.close();
      }
    }
  }

  @Test
  void anUploadOpenedEarlyAsksTheRegistryFirstAndSendsEvenASmallBodyInPatches() throws Exception {
    Registry r = registries.get(RegistryFlavour.TOKEN);
    RepositoryRef counted = RepositoryRef.of(r.proxyAddress(), "test/open-early");
    Credentials c = writer(r);
    r.resetCounters();
    BlobUpload upload = client.upload(counted, -1, ImageLayout.LAYER_MEDIA_TYPE, c, null);
    await(upload.open());
    assertEquals(
        1, r.proxiedRequests("POST", ".*/blobs/uploads/").size(), r.proxiedRequests().toString());
    byte[] small = "hello".getBytes(StandardCharsets.UTF_8);
    upload.write(Unpooled.copiedBuffer(small));
    Descriptor d = await(upload.finish());
    assertEquals(Digest.sha256(small), d.digest());
    assertEquals(1, r.proxiedRequests("PATCH", ".*").size(), r.proxiedRequests().toString());
    assertArrayEquals(small, r.getBlob("test/open-early", d.digest().toString()));

    // Refused credentials fail the open itself.
    BlobUpload refused =
        client.upload(
            RepositoryRef.of(r.address(), "test/open-early"),
            -1,
            ImageLayout.LAYER_MEDIA_TYPE,
            Credentials.basic(Registry.READER, Registry.READER_PASSWORD),
            null);
    assertInstanceOf(RegistryException.class, failure(refused.open()));
    assertTrue(refused.result().isCompletedExceptionally());
  }

  @Test
  void aProducerOnAnotherThreadIsToldToWaitBeforeABusyLoopCatchesUp() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    RepositoryRef repo = RepositoryRef.of(r.address(), "test/cross-thread");
    EventLoop loop = client.group().next();
    BlobUpload upload =
        client.upload(repo, -1, ImageLayout.LAYER_MEDIA_TYPE, Credentials.anonymous(), loop);
    CountDownLatch hold = new CountDownLatch(1);
    loop.execute(
        () -> {
          try {
            hold.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    byte[] content = randomBytes(2 << 20, 9);
    int piece = 16 * 1024;
    int at = 0;
    // The loop is busy: nothing written is taken yet, and the producer must be told to wait once
    // a queue's worth (256 KiB here) is on its way, not after the whole body.
    while (at < content.length && upload.isWritable()) {
      upload.write(Unpooled.copiedBuffer(content, at, piece));
      at += piece;
    }
    hold.countDown();
    assertTrue(at <= 256 * 1024, at + " bytes were written while the loop was busy");
    while (at < content.length) {
      CompletableFuture<Void> writable = new CompletableFuture<>();
      upload.whenWritable(() -> writable.complete(null));
      await(writable);
      assertTrue(upload.isWritable(), "woken means writable");
      upload.write(Unpooled.copiedBuffer(content, at, piece));
      at += piece;
    }
    assertEquals(Digest.sha256(content), await(upload.finish()).digest());
  }

  @Test
  void writesAndFinishOnTheLoopNeverOvertakeWritesPostedFromAnotherThread() throws Exception {
    Registry r = registries.get(RegistryFlavour.ANONYMOUS);
    RepositoryRef repo = RepositoryRef.of(r.address(), "test/order");
    EventLoop loop = client.group().next();
    BlobUpload upload =
        client.upload(repo, -1, ImageLayout.LAYER_MEDIA_TYPE, Credentials.anonymous(), loop);
    byte[] a = randomBytes(100_000, 10);
    byte[] b = randomBytes(50_000, 11);
    CountDownLatch go = new CountDownLatch(1);
    CompletableFuture<Descriptor> done = new CompletableFuture<>();
    // Queued first, runs last: by then A, written from this thread, waits in the loop's queue.
    loop.execute(
        () -> {
          try {
            go.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          upload.write(Unpooled.copiedBuffer(b));
          upload
              .finish()
              .whenComplete(
                  (d, e) -> {
                    if (e != null) {
                      done.completeExceptionally(e);
                    } else {
                      done.complete(d);
                    }
                  });
        });
    upload.write(Unpooled.copiedBuffer(a));
    go.countDown();
    byte[] ab = new byte[a.length + b.length];
    System.arraycopy(a, 0, ab, 0, a.length);
    System.arraycopy(b, 0, ab, a.length, b.length);
    assertEquals(Digest.sha256(ab), await(done).digest(), "A, written first, comes first");
  }

  @Test
  void aReaderCannotPushAndAWrongPasswordIsRefused() {
    Registry r = registries.get(RegistryFlavour.TOKEN);
    RepositoryRef repo = RepositoryRef.of(r.address(), "tokens/denied");
    Throwable push =
        failure(
            client.putBlob(
                repo,
                new byte[] {1},
                null,
                ImageLayout.LAYER_MEDIA_TYPE,
                Credentials.basic(Registry.READER, Registry.READER_PASSWORD),
                null));
    assertTrue(
        push instanceof RegistryException.Unauthorized
            || push instanceof RegistryException.Forbidden,
        push.toString());
    Throwable wrong =
        failure(client.getManifest(repo, "x", Credentials.basic(Registry.USER, "wrong"), null));
    RegistryException.Unauthorized e =
        assertInstanceOf(RegistryException.Unauthorized.class, wrong);
    assertTrue(e.getMessage().contains("refused the credentials"), e.getMessage());
    assertFalse(e.getMessage().contains("wrong"), e.getMessage());
  }

  @Test
  void basicAuthRegistryRefusesAnonymousWrites() {
    Registry r = registries.get(RegistryFlavour.BASIC);
    RepositoryRef repo = RepositoryRef.of(r.address(), "basic/anon");
    Throwable t =
        failure(
            client.putBlob(
                repo,
                new byte[] {1, 2},
                null,
                ImageLayout.LAYER_MEDIA_TYPE,
                Credentials.anonymous(),
                null));
    RegistryException.Unauthorized e = assertInstanceOf(RegistryException.Unauthorized.class, t);
    assertTrue(e.getMessage().contains("wants credentials"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void withUnlimitedChunksABodyStreamsInOnePatch(RegistryFlavour flavour) throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef counted = RepositoryRef.of(r.proxyAddress(), "unlimited/chunks");
    Credentials c = writer(r);
    try (RegistryClient unlimited =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .uploadChunkBytes(0)
                .monolithicUploadBytes(64 * 1024)
                .build())) {
      for (long declared : new long[] {-1, 3_000_123}) {
        byte[] content = randomBytes(3_000_123, declared);
        r.resetCounters();
        BlobUpload upload =
            unlimited.upload(counted, declared, ImageLayout.LAYER_MEDIA_TYPE, c, null);
        for (int at = 0; at < content.length; at += 50_000) {
          CompletableFuture<Void> writable = new CompletableFuture<>();
          upload.whenWritable(() -> writable.complete(null));
          await(writable);
          upload.write(Unpooled.copiedBuffer(content, at, Math.min(50_000, content.length - at)));
        }
        Descriptor d = await(upload.finish());
        assertEquals(Digest.sha256(content), d.digest());
        List<ProxiedRequest> patches = r.proxiedRequests("PATCH", ".*");
        assertEquals(1, patches.size(), r.proxiedRequests().toString());
        assertEquals(content.length, patches.get(0).bodyBytes());
        assertArrayEquals(
            content, await(unlimited.getBlobBytes(counted, d.digest(), 4_000_000, c, null)));
      }
      // Small bodies still go up whole, after a HEAD.
      byte[] small = randomBytes(1000, 1);
      assertEquals(Digest.sha256(small), upload(counted, small, -1, c, 100).digest());
    }
  }
}
