package dev.oranc.common.layout;

import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.tag.Tag;
import java.util.Map;
import java.util.Objects;

/**
 * A cache file as the registry holds it (SPEC §1): the blob of the one layer of the image under
 * {@code tag}, and what its annotations say about it.
 *
 * @param contentEncoding the {@code Content-Encoding} the file was uploaded with, or null
 * @param annotations all of the layer's annotations (the two above among them)
 */
public record StoredFile(
    RepositoryRef repository,
    Tag tag,
    Digest digest,
    long size,
    String contentType,
    String contentEncoding,
    Map<String, String> annotations) {

  public StoredFile {
    Objects.requireNonNull(repository, "repository");
    Objects.requireNonNull(tag, "tag");
    Objects.requireNonNull(digest, "digest");
    Objects.requireNonNull(contentType, "contentType");
    // Both are sent as headers; ImageLayout.read refuses a manifest with such values first (a 502
    // naming the annotation), so this only stops a new path from skipping that check.
    if (ImageLayout.headerValueProblem(contentType) != null
        || ImageLayout.headerValueProblem(contentEncoding) != null) {
      throw new IllegalArgumentException(
          "the content type or encoding cannot be an HTTP header value");
    }
    annotations = Map.copyOf(annotations);
  }

  public StoredFile(
      RepositoryRef repository,
      Tag tag,
      Digest digest,
      long size,
      String contentType,
      String contentEncoding) {
    this(repository, tag, digest, size, contentType, contentEncoding, Map.of());
  }

  /** The file's blob, as an image that stores it again names it (without the annotations). */
  public Descriptor blob() {
    return new Descriptor(ImageLayout.LAYER_MEDIA_TYPE, digest, size);
  }
}
