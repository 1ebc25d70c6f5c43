package dev.oranc.common.registry;

import java.net.URI;
import java.time.Instant;
import java.util.Objects;

/**
 * Where a blob is, as one {@code GET} that does not follow redirects found it ({@link
 * RegistryClient#locateBlob}): the registry serves the bytes itself ({@link Here}, the download
 * begun, to be relayed or cancelled), or it sent the request elsewhere ({@link Elsewhere}, nothing
 * left open).
 */
public sealed interface BlobLocation permits BlobLocation.Here, BlobLocation.Elsewhere {

  /** The registry answered 200: its body is the blob. */
  record Here(BlobDownload download) implements BlobLocation {
    public Here {
      Objects.requireNonNull(download, "download");
    }
  }

  /**
   * The registry answered a redirect. Its {@code Location}, resolved against the request's URL, is
   * handed over as it came: whether it may be given to anyone is the caller's decision.
   *
   * @param status the redirect's status (301, 302, 303, 307 or 308)
   * @param location absolute; may carry secrets (a presigned query): never log it whole
   * @param registry the registry's origin, {@code scheme://host[:port]}
   * @param date the registry's {@code Date}, or null when it sent none or an unreadable one; a
   *     presigned URL's expiry is on the registry's clock, not ours
   */
  record Elsewhere(int status, URI location, URI registry, Instant date) implements BlobLocation {
    public Elsewhere {
      Objects.requireNonNull(location, "location");
      Objects.requireNonNull(registry, "registry");
    }

    @Override
    public String toString() {
      String q = location.getRawQuery();
      return "Elsewhere["
          + status
          + " "
          + location.getScheme()
          + "://"
          + location.getRawAuthority()
          + location.getRawPath()
          + (q == null ? "" : "?…")
          + "]";
    }
  }
}
