package dev.oranc.common.oci;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.error.FormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An image manifest, OCI ({@code application/vnd.oci.image.manifest.v1+json}) or Docker v2 ({@code
 * application/vnd.docker.distribution.manifest.v2+json}), which have the same shape.
 *
 * <p>Parsing is strict about what we use (config, layers, their digests and sizes) and lenient
 * about the rest, so that a manifest written by another tool still reads. Writing is deterministic:
 * the same manifest always gives the same bytes, hence the same digest.
 */
public record Manifest(
    String mediaType, Descriptor config, List<Descriptor> layers, Map<String, String> annotations) {

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String DOCKER_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";

  /** The media types we ask for when reading, best first. */
  public static final String ACCEPT = OCI_MANIFEST + ", " + DOCKER_MANIFEST + ";q=0.9";

  public Manifest {
    layers = List.copyOf(layers);
    annotations = Map.copyOf(annotations);
  }

  /**
   * Reads a manifest.
   *
   * @param subject names it in errors, e.g. {@code manifest ghcr.io/o/c:tag}
   * @param contentType the registry's {@code Content-Type}, used when the JSON has no mediaType
   */
  public static Manifest parse(byte[] json, String subject, String contentType) {
    Map<String, Object> root;
    try {
      root = JSON.std.mapFrom(json);
    } catch (IOException | RuntimeException e) {
      throw new FormatException(subject, "is not valid JSON: " + oneLine(e.getMessage()));
    }
    if (root == null) {
      throw new FormatException(subject, "is not a JSON object");
    }
    Object schemaVersion = root.get("schemaVersion");
    if (!(schemaVersion instanceof Number n) || n.intValue() != 2) {
      throw new FormatException(subject, "schemaVersion is " + schemaVersion + ", expected 2");
    }
    String mediaType = optionalString(root, "mediaType", subject);
    if (mediaType == null) {
      mediaType = contentType == null ? OCI_MANIFEST : stripParameters(contentType);
    }
    if (mediaType.equals(OCI_INDEX) || mediaType.equals(DOCKER_LIST)) {
      throw new FormatException(subject, "is an image index (" + mediaType + "), not an image");
    }
    if (!mediaType.equals(OCI_MANIFEST) && !mediaType.equals(DOCKER_MANIFEST)) {
      throw new FormatException(subject, "has media type " + mediaType + ", not an image manifest");
    }
    Descriptor config = descriptor(root.get("config"), subject, "config");
    Object layersJson = root.get("layers");
    if (!(layersJson instanceof List<?> list)) {
      throw new FormatException(subject, "has no layers array");
    }
    List<Descriptor> layers = new ArrayList<>(list.size());
    for (int i = 0; i < list.size(); i++) {
      layers.add(descriptor(list.get(i), subject, "layers[" + i + "]"));
    }
    return new Manifest(
        mediaType, config, layers, annotations(root.get("annotations"), subject, ""));
  }

  /** The manifest as JSON, keys in a fixed order. */
  public byte[] toJson() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("schemaVersion", 2);
    root.put("mediaType", mediaType);
    root.put("config", toJson(config));
    List<Object> layersJson = new ArrayList<>(layers.size());
    for (Descriptor layer : layers) {
      layersJson.add(toJson(layer));
    }
    root.put("layers", layersJson);
    if (!annotations.isEmpty()) {
      root.put("annotations", new TreeMap<>(annotations));
    }
    try {
      return JSON.std.asBytes(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, Object> toJson(Descriptor d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("mediaType", d.mediaType());
    m.put("digest", d.digest().toString());
    m.put("size", d.size());
    if (!d.annotations().isEmpty()) {
      m.put("annotations", new TreeMap<>(d.annotations()));
    }
    return m;
  }

  private static Descriptor descriptor(Object json, String subject, String where) {
    if (!(json instanceof Map<?, ?> map)) {
      throw new FormatException(subject, where, "is not a descriptor object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> m = (Map<String, Object>) map;
    String mediaType = optionalString(m, "mediaType", subject);
    if (mediaType == null) {
      throw new FormatException(subject, where, "has no mediaType");
    }
    String digestText = optionalString(m, "digest", subject);
    Digest digest;
    try {
      digest = Digest.parse(digestText);
    } catch (FormatException e) {
      throw new FormatException(subject, where, e.getMessage());
    }
    if (!(m.get("size") instanceof Number size) || size.longValue() < 0) {
      throw new FormatException(subject, where, "has no valid size");
    }
    return new Descriptor(
        mediaType, digest, size.longValue(), annotations(m.get("annotations"), subject, where));
  }

  private static Map<String, String> annotations(Object json, String subject, String where) {
    if (json == null) {
      return Map.of();
    }
    if (!(json instanceof Map<?, ?> map)) {
      throw new FormatException(subject, where, "annotations are not an object");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getValue() instanceof String value)) {
        throw new FormatException(subject, where, "annotation " + e.getKey() + " is not a string");
      }
      out.put(String.valueOf(e.getKey()), value);
    }
    return out;
  }

  private static String optionalString(Map<String, Object> m, String field, String subject) {
    Object v = m.get(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw new FormatException(subject, field + " is not a string");
    }
    return s;
  }

  private static String stripParameters(String contentType) {
    int semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim();
  }

  private static String oneLine(String s) {
    if (s == null) {
      return "unreadable";
    }
    String line = s.lines().findFirst().orElse("");
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }
}
