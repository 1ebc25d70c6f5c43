package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.Causes;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cache's own writes and reads against the real registry: a file stored whole, a file uploaded
 * as a stream and then published, read back through {@code find} and {@code read}, and a key put
 * again with a new date and nothing else changed.
 */
class OciBinaryCacheTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.TOKEN);

  private static RegistryClient client;

  @BeforeAll
  static void start() {
    client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
                .build());
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  @Test
  void aFileStoredWholeIsFoundAndReadBackWithItsTypeAndEncoding() throws Exception {
    Registry r = registries.get();
    RepositoryRef repo = RepositoryRef.of(r.address(), "front/store");
    Credentials c = RegistryClientTest.writer(r);
    OciBinaryCache cache = new OciBinaryCache(client, TagCodec.DEFAULT);
    byte[] body = "StoreDir: /nix/store\nPriority: 41\n".getBytes(StandardCharsets.UTF_8);

    assertEquals(
        "nix-cache-info",
        await(cache.store(repo, "nix-cache-info", body, "text/x-nix-cache-info", "gzip", c, null))
            .value());

    StoredFile file = await(cache.find(repo, "nix-cache-info", c, null)).orElseThrow();
    assertEquals(Digest.sha256(body), file.digest());
    assertEquals(body.length, file.size());
    assertEquals("text/x-nix-cache-info", file.contentType());
    assertEquals("gzip", file.contentEncoding());
    assertEquals(
        new Descriptor(ImageLayout.LAYER_MEDIA_TYPE, Digest.sha256(body), body.length),
        file.blob());
    assertArrayEquals(body, await(cache.read(file, body.length, c, null)));
    ExecutionException tooLarge =
        assertThrows(
            ExecutionException.class, () -> cache.read(file, body.length - 1, c, null).get());
    assertInstanceOf(RegistryException.Protocol.class, Causes.of(tooLarge));
  }

  @Test
  void aStreamedUploadIsAFileOnlyOncePublished() throws Exception {
    Registry r = registries.get();
    RepositoryRef repo = RepositoryRef.of(r.address(), "front/stream");
    Credentials c = RegistryClientTest.writer(r);
    OciBinaryCache cache = new OciBinaryCache(client, TagCodec.DEFAULT);
    byte[] body = new byte[300_000];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31);
    }

    BlobUpload upload = cache.upload(repo, -1, c, null);
    writeAll(upload, body);
    Descriptor blob = await(upload.finish());
    assertEquals(ImageLayout.LAYER_MEDIA_TYPE, blob.mediaType());
    assertEquals(Digest.sha256(body), blob.digest());
    assertTrue(await(cache.find(repo, "nar/x.nar.zst", c, null)).isEmpty(), "a tag before publish");

    await(cache.publish(repo, "nar/x.nar.zst", blob, "application/x-nix-nar", "zstd", c, null));
    StoredFile file = await(cache.find(repo, "nar/x.nar.zst", c, null)).orElseThrow();
    assertEquals(blob.digest(), file.digest());
    assertArrayEquals(body, await(cache.read(file, body.length, c, null)));

    byte[] abc = "abc".getBytes(StandardCharsets.UTF_8);
    Descriptor small = await(cache.upload(repo, abc, null, c, null));
    assertEquals(new Descriptor(ImageLayout.LAYER_MEDIA_TYPE, Digest.sha256(abc), 3), small);
  }

  @Test
  void aRedatedKeyKeepsItsLayerConfigAndKeyAndGetsTheNewDate() throws Exception {
    Registry r = registries.get();
    RepositoryRef repo = RepositoryRef.of(r.address(), "front/redate");
    Credentials c = RegistryClientTest.writer(r);
    OciBinaryCache cache = new OciBinaryCache(client, TagCodec.DEFAULT);
    byte[] body = "StorePath: /nix/store/x\n".getBytes(StandardCharsets.UTF_8);
    await(cache.store(repo, "x.narinfo", body, "text/x-nix-narinfo", null, c, null));
    OciBinaryCache.Image before = await(cache.findImage(repo, "x.narinfo", c, null)).orElseThrow();

    Instant now = Instant.parse("2031-05-06T07:08:09.750Z");
    await(cache.redate(before, now, c, null));

    OciBinaryCache.Image after = await(cache.findImage(repo, "x.narinfo", c, null)).orElseThrow();
    assertEquals(
        Instant.parse("2031-05-06T07:08:09Z"), ImageLayout.created(after.manifest()).orElseThrow());
    Manifest expected = ImageLayout.redated(before.manifest(), now);
    assertEquals(expected, after.manifest());
    assertEquals(before.manifest().layers(), after.manifest().layers());
    assertEquals(before.manifest().config(), after.manifest().config());
    Map<String, String> annotations = after.manifest().annotations();
    assertEquals("x.narinfo", annotations.get(ImageLayout.KEY_ANNOTATION));
    assertEquals(before.file(), after.file());
  }

  private static void writeAll(BlobUpload upload, byte[] body) {
    for (int from = 0; from < body.length; from += 64 * 1024) {
      upload.write(Unpooled.copiedBuffer(body, from, Math.min(64 * 1024, body.length - from)));
    }
  }
}
