package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.DigestedManifest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Manifest deletes by digest (what {@code oranc gc} and {@code pin remove} use) against the real
 * registry in each auth flavour, and the {@code created} annotation every published key carries.
 */
class ManifestDeleteTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

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

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void aPublishedKeyIsDatedThenDeletedOnceAndASecondDeleteIsDone(RegistryFlavour flavour)
      throws Exception {
    Registry r = registries.get(flavour);
    RepositoryRef repo = RepositoryRef.of(r.address(), "delete/files");
    Credentials c = RegistryClientTest.writer(r);
    OciBinaryCache cache = new OciBinaryCache(client, TagCodec.DEFAULT);
    byte[] body = "StorePath: /nix/store/x\n".getBytes(StandardCharsets.UTF_8);
    Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    Descriptor blob =
        RegistryClientFaultTest.await(
            client.putBlob(repo, body, null, ImageLayout.LAYER_MEDIA_TYPE, c, null));
    RegistryClientFaultTest.await(
        cache.publish(repo, "x.narinfo", blob, "text/x-nix-narinfo", null, c, null));
    Instant after = Instant.now();

    DigestedManifest read =
        RegistryClientFaultTest.await(client.getDigestedManifest(repo, "x.narinfo", c, null))
            .orElseThrow();
    byte[] raw = r.getManifest("delete/files", "x.narinfo").orElseThrow();
    assertEquals(Digest.sha256(raw), read.digest());
    String created = read.manifest().annotations().get("org.opencontainers.image.created");
    assertTrue(created.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"), created);
    Instant at = ImageLayout.created(read.manifest()).orElseThrow();
    assertFalse(at.isBefore(before), at + " before " + before);
    assertFalse(at.isAfter(after), at + " after " + after);
    // The Rust layout's annotations are still there, unchanged.
    assertEquals("x.narinfo", read.manifest().annotations().get("com.linyinfeng.oranc.key"));
    assertEquals(
        "x.narinfo", read.manifest().annotations().get("org.opencontainers.image.description"));

    assertTrue(RegistryClientFaultTest.await(client.deleteManifest(repo, read.digest(), c, null)));
    assertEquals(
        Optional.empty(), RegistryClientFaultTest.await(cache.find(repo, "x.narinfo", c, null)));
    assertFalse(r.tags("delete/files").contains("x.narinfo"));
    assertFalse(RegistryClientFaultTest.await(client.deleteManifest(repo, read.digest(), c, null)));
  }

  @Test
  void aRegistryThatRefusesDeletesGetsOneLineNamingWhatToEnable() throws Exception {
    try (FakeRegistry fake =
        new FakeRegistry(
            (n, req, reply) ->
                reply.send(
                    405,
                    "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"The operation is"
                        + " unsupported.\"}]}"))) {
      RepositoryRef repo = RepositoryRef.of(fake.address(), "owner/cache");
      Throwable t =
          RegistryClientFaultTest.failure(
              client.deleteManifest(
                  repo, new Digest("c".repeat(64)), Credentials.anonymous(), null));
      RegistryException.Forbidden e = assertInstanceOf(RegistryException.Forbidden.class, t);
      assertTrue(e.getMessage().contains("storage.delete.enabled"), e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
  }

  @Test
  void createdIsWholeSecondsUtcAndAForeignOrMissingValueIsUndated() {
    Instant t = Instant.parse("2026-12-07T08:00:01.750Z");
    assertEquals("2026-12-07T08:00:01Z", ImageLayout.formatCreated(t));
    Descriptor layer = ImageLayout.layer(new Digest("a".repeat(64)), 1, "text/plain", null);
    Descriptor config =
        new Descriptor(ImageLayout.CONFIG_MEDIA_TYPE, new Digest("b".repeat(64)), 2);
    Manifest m = ImageLayout.manifest("k", layer, config, t);
    Manifest reread = Manifest.parse(m.toJson(), "test", null);
    assertEquals(Optional.of(Instant.parse("2026-12-07T08:00:01Z")), ImageLayout.created(reread));
    Manifest offset =
        new Manifest(
            Manifest.OCI_MANIFEST,
            config,
            List.of(layer),
            Map.of(ImageLayout.CREATED_ANNOTATION, "2026-12-07T10:00:01+02:00"));
    assertEquals(Optional.of(Instant.parse("2026-12-07T08:00:01Z")), ImageLayout.created(offset));
    Manifest rust =
        new Manifest(
            Manifest.OCI_MANIFEST, config, List.of(layer), Map.of(ImageLayout.KEY_ANNOTATION, "k"));
    assertEquals(Optional.empty(), ImageLayout.created(rust));
    Manifest foreign =
        new Manifest(
            Manifest.OCI_MANIFEST,
            config,
            List.of(layer),
            Map.of(ImageLayout.CREATED_ANNOTATION, "yesterday"));
    assertEquals(Optional.empty(), ImageLayout.created(foreign));
  }
}
