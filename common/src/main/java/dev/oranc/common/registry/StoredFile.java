package dev.oranc.common.registry;

import dev.oranc.common.tag.Tag;
import java.util.Objects;

/**
 * A cache file as the registry holds it (SPEC §1): the blob of the one layer of the image under
 * {@code tag}, and what its annotations say about it.
 *
 * @param contentEncoding the {@code Content-Encoding} the file was uploaded with, or null
 */
public record StoredFile(
    RepositoryRef repository, Tag tag, Digest digest, long size, String contentType, String contentEncoding) {

  public StoredFile {
    Objects.requireNonNull(repository, "repository");
    Objects.requireNonNull(tag, "tag");
    Objects.requireNonNull(digest, "digest");
    Objects.requireNonNull(contentType, "contentType");
  }
}
