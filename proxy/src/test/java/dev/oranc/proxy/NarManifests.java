package dev.oranc.proxy;

/** Manifests in oranc's layout for a {@link dev.oranc.testkit.FakeRegistry} to answer with. */
final class NarManifests {

  private NarManifests() {}

  /**
   * A manifest with {@code layers} octet-stream NAR layers of {@code size} bytes each (digest of
   * 'b's) and a config of 2 bytes (digest of 'a's).
   */
  static String manifest(long size, int layers) {
    StringBuilder l = new StringBuilder();
    for (int i = 0; i < layers; i++) {
      l.append(i == 0 ? "" : ",")
          .append("{\"mediaType\":\"application/octet-stream\",\"digest\":\"sha256:")
          .append("b".repeat(64))
          .append("\",\"size\":")
          .append(size)
          .append(",\"annotations\":{\"com.linyinfeng.oranc.content.type\":")
          .append("\"application/x-nix-nar\"}}");
    }
    return "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        + "\"digest\":\"sha256:"
        + "a".repeat(64)
        + "\",\"size\":2},\"layers\":["
        + l
        + "]}";
  }
}
