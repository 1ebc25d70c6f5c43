package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RegistryErrorsTest {

  private static byte[] body(String json) {
    return json.getBytes(StandardCharsets.UTF_8);
  }

  private static String error(String code) {
    return "{\"code\":\"" + code + "\",\"message\":\"m\"}";
  }

  @Test
  void theSpecsCodesAreReadExactly() {
    for (RegistryErrorCode c : RegistryErrorCode.values()) {
      assertEquals(Optional.of(c), RegistryErrorCode.of(c.name()));
      assertFalse(c.message().isBlank());
    }
    assertEquals(Optional.empty(), RegistryErrorCode.of("blob_unknown"));
    assertEquals(Optional.empty(), RegistryErrorCode.of("TAG_INVALID"));
    assertEquals(Optional.empty(), RegistryErrorCode.of(null));
    assertEquals(Optional.empty(), RegistryErrorCode.of(7));
  }

  @Test
  void aManifestPutIsSentAgainOnlyWhenEveryErrorSaysABlobIsUnknown() {
    assertTrue(
        RegistryErrors.blobJustStoredLooksUnknown(
            body(
                "{\"errors\":["
                    + error("DIGEST_INVALID")
                    + ","
                    + error("MANIFEST_BLOB_UNKNOWN")
                    + "]}")));
    assertTrue(
        RegistryErrors.blobJustStoredLooksUnknown(
            body("{\"errors\":[" + error("BLOB_UNKNOWN") + "]}")));
    assertFalse(
        RegistryErrors.blobJustStoredLooksUnknown(
            body(
                "{\"errors\":["
                    + error("MANIFEST_BLOB_UNKNOWN")
                    + ","
                    + error("MANIFEST_INVALID")
                    + "]}")));
    assertFalse(
        RegistryErrors.blobJustStoredLooksUnknown(
            body("{\"errors\":[" + error("manifest_blob_unknown") + "]}")));
    assertFalse(RegistryErrors.blobJustStoredLooksUnknown(body("{\"errors\":[]}")));
    assertFalse(RegistryErrors.blobJustStoredLooksUnknown(body("not json")));
    assertFalse(RegistryErrors.blobJustStoredLooksUnknown(null));
  }

  @Test
  void aBareCodeIsExplainedInTheSpecsWords() {
    assertEquals(
        "the registry said: NAME_UNKNOWN: repository name not known to registry",
        RegistryErrors.registryMessage(body("{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}")));
    assertEquals(
        "the registry said: NAME_UNKNOWN: no such repo",
        RegistryErrors.registryMessage(
            body("{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"no such repo\"}]}")));
    assertEquals(
        "the registry said: ODD: ",
        RegistryErrors.registryMessage(body("{\"errors\":[{\"code\":\"ODD\"}]}")));
  }
}
