package dev.oranc.common.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A manifest read under a hashed tag is the requested key's, or an error naming both keys. */
class HashedTagReadTest {

  private static final RepositoryRef REPO = RepositoryRef.of("127.0.0.1:5000", "test/cache");
  private static final String LONG_KEY =
      "log/0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5-" + "a".repeat(207) + ".drv";
  private static final String OTHER_KEY = "log/1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q6r-other.drv";
  private static final Tag HASHED = TagCodec.DEFAULT.writeTag(LONG_KEY);

  private static Manifest manifestOf(String key) {
    Descriptor layer =
        ImageLayout.layer(
            Digest.sha256("x".getBytes(StandardCharsets.UTF_8)), 1, "text/plain", null);
    Descriptor config =
        new Descriptor(ImageLayout.CONFIG_MEDIA_TYPE, Digest.sha256(new byte[0]), 0);
    return key == null
        ? new Manifest(Manifest.OCI_MANIFEST, config, List.of(layer), Map.of())
        : ImageLayout.manifest(key, layer, config);
  }

  @Test
  void theRequestedKeysManifestReads() {
    assertTrue(TagCodec.isHashed(HASHED));
    StoredFile file = ImageLayout.read(REPO, HASHED, manifestOf(LONG_KEY), LONG_KEY);
    assertEquals(HASHED, file.tag());
    assertEquals("text/plain", file.contentType());
  }

  @Test
  void anotherKeysManifestIsAnErrorNamingBothKeys() {
    RegistryException.Protocol e =
        assertThrows(
            RegistryException.Protocol.class,
            () -> ImageLayout.read(REPO, HASHED, manifestOf(OTHER_KEY), LONG_KEY));
    assertTrue(e.getMessage().contains(LONG_KEY), e.getMessage());
    assertTrue(e.getMessage().contains(OTHER_KEY), e.getMessage());
    assertTrue(e.getMessage().contains(HASHED.value()), e.getMessage());
  }

  @Test
  void aManifestNamingNoKeyIsAnError() {
    RegistryException.Protocol e =
        assertThrows(
            RegistryException.Protocol.class,
            () -> ImageLayout.read(REPO, HASHED, manifestOf(null), LONG_KEY));
    assertTrue(e.getMessage().contains(ImageLayout.KEY_ANNOTATION), e.getMessage());
    assertTrue(e.getMessage().contains(LONG_KEY), e.getMessage());
  }

  /** An ordinary tag spells its key: its annotation is not consulted (other tools' images read). */
  @Test
  void anOrdinaryTagIsNotChecked() {
    Tag tag = TagCodec.DEFAULT.writeTag("abc.narinfo");
    assertEquals(tag, ImageLayout.read(REPO, tag, manifestOf(null), "abc.narinfo").tag());
    assertEquals(tag, ImageLayout.read(REPO, tag, manifestOf(OTHER_KEY), "abc.narinfo").tag());
  }
}
