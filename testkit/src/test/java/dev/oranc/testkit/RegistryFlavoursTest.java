package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The same round trips against each flavour, with the harness's raw client. */
class RegistryFlavoursTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String ociManifest(
      String configDigest, int configSize, String layerDigest, int layerSize) {
    return "{\"schemaVersion\":2,"
        + "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        + "\"digest\":\""
        + configDigest
        + "\",\"size\":"
        + configSize
        + "},"
        + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
        + "\"digest\":\""
        + layerDigest
        + "\",\"size\":"
        + layerSize
        + "}]}";
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void pushesBlobAndOciManifestAndReadsThemBack(RegistryFlavour flavour) {
    Registry registry = registries.get(flavour);
    String repository = "testkit/round-trip";
    byte[] config = utf8("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
    byte[] layer = utf8("layer of " + flavour);
    String configDigest = registry.putBlob(repository, config);
    String layerDigest = registry.putBlob(repository, layer);
    assertEquals(RawClient.digest(layer), layerDigest);
    byte[] manifest = utf8(ociManifest(configDigest, config.length, layerDigest, layer.length));

    String manifestDigest =
        registry.putManifest(repository, "v1", RawClient.OCI_MANIFEST, manifest);

    assertEquals(RawClient.digest(manifest), manifestDigest);
    assertArrayEquals(layer, registry.getBlob(repository, layerDigest));
    assertArrayEquals(config, registry.getBlob(repository, configDigest));
    assertArrayEquals(manifest, registry.getManifest(repository, "v1").orElseThrow());
    assertArrayEquals(manifest, registry.getManifest(repository, manifestDigest).orElseThrow());
    assertEquals(List.of("v1"), registry.tags(repository));
    assertTrue(registry.client().hasBlob(repository, layerDigest));
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void missingThingsAreEmptyNotErrors(RegistryFlavour flavour) {
    Registry registry = registries.get(flavour);
    assertEquals(Optional.empty(), registry.getManifest("testkit/nothing-here", "v1"));
    assertEquals(List.of(), registry.tags("testkit/nothing-here"));
    assertFalse(registry.client().hasBlob("testkit/nothing-here", RawClient.digest(utf8("no"))));
  }

  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"BASIC", "TOKEN"})
  void refusesAnonymousPush(RegistryFlavour flavour) {
    Registry registry = registries.get(flavour);
    RawClient.UnexpectedResponse refused =
        assertThrows(
            RawClient.UnexpectedResponse.class,
            () -> registry.anonymousClient().putBlob("testkit/anonymous", utf8("x")));
    assertEquals(401, refused.status());
  }

  @Test
  void anonymousRegistryTakesAnonymousPush() {
    Registry registry = registries.get(RegistryFlavour.ANONYMOUS);
    String digest = registry.anonymousClient().putBlob("testkit/anonymous", utf8("x"));
    assertArrayEquals(utf8("x"), registry.getBlob("testkit/anonymous", digest));
  }

  @ParameterizedTest
  @EnumSource(
      value = RegistryFlavour.class,
      names = {"BASIC", "TOKEN"})
  void refusesAWrongPassword(RegistryFlavour flavour) {
    Registry registry = registries.get(flavour);
    String digest = registry.putBlob("testkit/wrong-password", utf8("secret stuff"));
    RawClient.UnexpectedResponse refused =
        assertThrows(
            RawClient.UnexpectedResponse.class,
            () ->
                registry
                    .client(Registry.USER, "not-the-password")
                    .getBlob("testkit/wrong-password", digest));
    assertEquals(401, refused.status());
  }

  @Test
  void basicRegistryLetsTheReaderPushToo() {
    // htpasswd mode has no per-user rights; tests must not expect a 403 from BASIC.
    Registry registry = registries.get(RegistryFlavour.BASIC);
    RawClient reader = registry.client(Registry.READER, Registry.READER_PASSWORD);
    String digest = reader.putBlob("testkit/reader", utf8("pushed by the reader"));
    assertArrayEquals(utf8("pushed by the reader"), registry.getBlob("testkit/reader", digest));
  }

  @Test
  void aMissingBinaryFailsWithAHint() {
    String before = System.getProperty(Registry.BINARY_PROPERTY);
    System.setProperty(Registry.BINARY_PROPERTY, "/nonexistent/docker-registry");
    try {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> Registry.start(RegistryFlavour.TOKEN));
      assertTrue(e.getMessage().contains("TOKEN registry did not start"), e.getMessage());
      assertTrue(e.getMessage().contains("scripts/install-deps"), e.getMessage());
    } finally {
      if (before == null) {
        System.clearProperty(Registry.BINARY_PROPERTY);
      } else {
        System.setProperty(Registry.BINARY_PROPERTY, before);
      }
    }
  }

  @Test
  void closeStopsTheRegistryKeepsItsLogAndDeletesItsStorage() throws Exception {
    Path storage;
    Path log;
    long pid;
    try (Registry registry = Registry.start(RegistryFlavour.BASIC)) {
      registry.putBlob("testkit/closing", utf8("soon gone"));
      storage = registry.storageDir();
      log = registry.logFile();
      pid = registry.pid();
      assertTrue(Files.isDirectory(storage.resolve("docker")), "blobs are stored under " + storage);
      assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid);
    assertFalse(Files.exists(storage), storage + " is deleted");
    assertTrue(Files.readString(log).contains("listening on 127.0.0.1:"), "log kept: " + log);
    assertEquals(
        TestLogs.root().resolve(getClass().getSimpleName()).toAbsolutePath(),
        log.getParent().toAbsolutePath());
  }
}
