package dev.oranc.common.layout;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How one cache file is stored as one OCI image (SPEC §1), in both directions.
 *
 * <pre>
 * manifest (application/vnd.oci.image.manifest.v1+json), tagged encode(key)
 * ├── annotations: com.linyinfeng.oranc.key = key, org.opencontainers.image.description = key
 * │                org.opencontainers.image.created = when it was written, RFC 3339 UTC (ours)
 * ├── config: application/vnd.oci.image.config.v1+json
 * │     {"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":["&lt;layer digest&gt;"]}}
 * └── layers[0]: application/octet-stream = the file's bytes
 *       annotations: com.linyinfeng.oranc.content.type = the file's content type
 *                    dev.oranc.content.encoding = its Content-Encoding, when it had one (ours)
 *                    dev.oranc.narinfo.signatures = a narinfo's Sig values (ours; see below)
 * </pre>
 *
 * The Rust oranc writes the same image (it has no content-encoding annotation and ignores ours), so
 * either tool reads what the other wrote. Reading accepts any manifest with exactly one {@code
 * application/octet-stream} layer carrying the content-type annotation, and ignores the config;
 * anything else is an error that names the tag and what was wrong.
 *
 * <p>The content type and encoding annotations become the {@code Content-Type} and {@code
 * Content-Encoding} of the server's answers, and anyone who can push to a registry can write any
 * string there. Reading refuses a value that cannot be an HTTP header value ({@link
 * #headerValueProblem}: a CR/LF would split the answer, and Netty refuses to send it, so the
 * request would never be answered): the manifest is malformed like any other, and the error names
 * the annotation and where the bad character is, never the value.
 */
public final class ImageLayout {

  public static final String KEY_ANNOTATION = "com.linyinfeng.oranc.key";
  public static final String DESCRIPTION_ANNOTATION = "org.opencontainers.image.description";

  /**
   * When the key was written (RFC 3339, UTC, whole seconds): what {@code oranc gc} measures a key's
   * age by. The OCI image spec's own annotation, so registries' UIs show it; keys written by the
   * Rust tool or older versions have none ("undated").
   */
  public static final String CREATED_ANNOTATION = "org.opencontainers.image.created";

  public static final String CONTENT_TYPE_ANNOTATION = "com.linyinfeng.oranc.content.type";
  public static final String CONTENT_ENCODING_ANNOTATION = "dev.oranc.content.encoding";

  /**
   * On a narinfo pushed by {@code oranc push}: its {@code Sig:} values, space-separated, so that a
   * later push can tell from the manifest alone that the path is there and signed by its key,
   * without reading the narinfo (one request per path already pushed instead of two).
   */
  public static final String NARINFO_SIGNATURES_ANNOTATION = "dev.oranc.narinfo.signatures";

  public static final String LAYER_MEDIA_TYPE = "application/octet-stream";
  public static final String CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";
  public static final String DEFAULT_CONTENT_TYPE = "application/octet-stream";

  /**
   * The longest content type or encoding we store or serve; real ones are a few dozen characters.
   */
  public static final int MAX_HEADER_VALUE = 1024;

  private ImageLayout() {}

  /** The config blob for an image whose one layer is {@code layer}. */
  public static byte[] configJson(Digest layer) {
    Map<String, Object> rootfs = new LinkedHashMap<>();
    rootfs.put("type", "layers");
    rootfs.put("diff_ids", List.of(layer.toString()));
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("architecture", "");
    config.put("os", "");
    config.put("rootfs", rootfs);
    try {
      return JSON.std.asBytes(config);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The layer descriptor of a file: its blob, with the content type (and encoding) annotated. */
  public static Descriptor layer(
      Digest digest, long size, String contentType, String contentEncoding) {
    return layer(digest, size, contentType, contentEncoding, Map.of());
  }

  /** As above, with more annotations of our own ({@code dev.oranc.*}). */
  public static Descriptor layer(
      Digest digest,
      long size,
      String contentType,
      String contentEncoding,
      Map<String, String> extra) {
    Map<String, String> annotations = new LinkedHashMap<>(extra);
    annotations.put(
        CONTENT_TYPE_ANNOTATION,
        contentType == null || contentType.isEmpty() ? DEFAULT_CONTENT_TYPE : contentType);
    if (contentEncoding != null && !contentEncoding.isEmpty()) {
      annotations.put(CONTENT_ENCODING_ANNOTATION, contentEncoding);
    }
    return new Descriptor(LAYER_MEDIA_TYPE, digest, size, annotations);
  }

  /** The manifest of the image that stores {@code key}, written now. */
  public static Manifest manifest(String key, Descriptor layer, Descriptor config) {
    return manifest(key, layer, config, Instant.now());
  }

  /** The manifest of the image that stores {@code key}, written at {@code created}. */
  public static Manifest manifest(
      String key, Descriptor layer, Descriptor config, Instant created) {
    return new Manifest(
        Manifest.OCI_MANIFEST,
        config,
        List.of(layer),
        Map.of(
            KEY_ANNOTATION,
            key,
            DESCRIPTION_ANNOTATION,
            key,
            CREATED_ANNOTATION,
            formatCreated(created)));
  }

  /** {@code manifest} as written at {@code created}: the same layer, config and key, a new date. */
  public static Manifest redated(Manifest manifest, Instant created) {
    Map<String, String> annotations = new LinkedHashMap<>(manifest.annotations());
    annotations.put(CREATED_ANNOTATION, formatCreated(created));
    return new Manifest(manifest.mediaType(), manifest.config(), manifest.layers(), annotations);
  }

  /** {@code 2026-12-07T08:00:00Z}: RFC 3339 in UTC, whole seconds. */
  public static String formatCreated(Instant created) {
    return DateTimeFormatter.ISO_INSTANT.format(created.truncatedTo(ChronoUnit.SECONDS));
  }

  /**
   * When the image was written, from its {@link #CREATED_ANNOTATION}; empty when it has none or one
   * that is not an RFC 3339 date-time (another tool's), so the key counts as undated.
   */
  public static Optional<Instant> created(Manifest manifest) {
    String value = manifest.annotations().get(CREATED_ANNOTATION);
    if (value == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          OffsetDateTime.parse(value.trim(), DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant());
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /**
   * The file a manifest read for {@code key} stores. Under a {@linkplain TagCodec#isHashed hashed
   * tag} (a key too long for a tag) the manifest must name {@code key} in {@value #KEY_ANNOTATION}:
   * the tag cannot say which key it holds, so a manifest of another key there (planted, or a hash
   * collision) is an error naming both keys, never that key's bytes. Other tags spell their key.
   *
   * @throws RegistryException.Protocol when the manifest is not a cache file's image, or not {@code
   *     key}'s
   */
  public static StoredFile read(RepositoryRef repository, Tag tag, Manifest manifest, String key) {
    if (TagCodec.isHashed(tag)) {
      String named = manifest.annotations().get(KEY_ANNOTATION);
      if (!key.equals(named)) {
        throw new RegistryException.Protocol(
            "read " + repository + ":" + tag,
            named == null
                ? "the manifest names no key (no "
                    + KEY_ANNOTATION
                    + " annotation), so it is not the requested '"
                    + key
                    + "'"
                : "the manifest names key '" + named + "', not the requested '" + key + "'");
      }
    }
    return read(repository, tag, manifest);
  }

  /**
   * The file a manifest stores.
   *
   * @throws RegistryException.Protocol when the manifest is not a cache file's image
   */
  public static StoredFile read(RepositoryRef repository, Tag tag, Manifest manifest) {
    String operation = "read " + repository + ":" + tag;
    List<Descriptor> layers = manifest.layers();
    if (layers.size() != 1) {
      throw new RegistryException.Protocol(
          operation,
          "the image has " + layers.size() + " layers; a cache file's image has exactly one");
    }
    Descriptor layer = layers.get(0);
    if (!layer.mediaType().equals(LAYER_MEDIA_TYPE)) {
      throw new RegistryException.Protocol(
          operation,
          "its layer's media type is not " + LAYER_MEDIA_TYPE,
          "it is " + layer.mediaType(),
          null);
    }
    String contentType = layer.annotations().get(CONTENT_TYPE_ANNOTATION);
    if (contentType == null) {
      throw new RegistryException.Protocol(
          operation, "its layer has no " + CONTENT_TYPE_ANNOTATION + " annotation");
    }
    String contentEncoding = layer.annotations().get(CONTENT_ENCODING_ANNOTATION);
    checkHeaderValue(operation, CONTENT_TYPE_ANNOTATION, contentType);
    checkHeaderValue(operation, CONTENT_ENCODING_ANNOTATION, contentEncoding);
    return new StoredFile(
        repository,
        tag,
        layer.digest(),
        layer.size(),
        contentType,
        contentEncoding,
        layer.annotations());
  }

  private static void checkHeaderValue(String operation, String annotation, String value) {
    String problem = headerValueProblem(value);
    if (problem != null) {
      throw new RegistryException.Protocol(
          operation,
          "its layer's "
              + annotation
              + " annotation "
              + problem
              + "; it cannot be an HTTP header value");
    }
  }

  /**
   * Why {@code value} cannot be sent as an HTTP header value, in words that do not quote it; null
   * when it can (or is null). Allowed: printable ASCII and space, at most {@value
   * #MAX_HEADER_VALUE} characters. Stricter than RFC 9110 (no tab, no obs-text), which no content
   * type or encoding needs.
   */
  public static String headerValueProblem(String value) {
    if (value == null) {
      return null;
    }
    if (value.length() > MAX_HEADER_VALUE) {
      return "is " + value.length() + " characters long, over " + MAX_HEADER_VALUE;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\r' || c == '\n') {
        return "holds a line break (at character " + i + ")";
      }
      if (c < 0x20 || c == 0x7f) {
        return "holds a control character (at character " + i + ")";
      }
      if (c > 0x7e) {
        return "holds a character that is not ASCII (at character " + i + ")";
      }
    }
    return null;
  }
}
