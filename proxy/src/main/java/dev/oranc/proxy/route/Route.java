package dev.oranc.proxy.route;

import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import java.util.Objects;

/** What a request asks for, once its path, query and credentials have been read. */
public sealed interface Route {

  /** {@code GET /}: the one-line banner. */
  record Banner() implements Route {}

  /** {@code GET /-/health}. */
  record Health() implements Route {}

  /** {@code GET /-/metrics}: Prometheus text. */
  record Metrics() implements Route {}

  /**
   * A cache file: {@code GET}, {@code HEAD} or {@code PUT} of {@code key} in {@code repository},
   * with the registry credentials the request carried.
   */
  record File(Method method, RepositoryRef repository, String key, Credentials credentials)
      implements Route {

    public File {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(repository, "repository");
      Objects.requireNonNull(credentials, "credentials");
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("a file route needs a key");
      }
    }

    // Credentials print themselves redacted, so the generated toString would be safe; this one
    // is shorter and says so outright.
    @Override
    public String toString() {
      return "File["
          + method
          + " "
          + repository
          + " "
          + key
          + ", "
          + (credentials.isAnonymous() ? "anonymous" : "with credentials")
          + "]";
    }
  }

  /**
   * An S3 multipart upload of {@code key} (CreateMultipartUpload {@code POST ?uploads}, UploadPart
   * {@code PUT ?partNumber=N&uploadId=ID}, CompleteMultipartUpload {@code POST ?uploadId=ID},
   * AbortMultipartUpload {@code DELETE ?uploadId=ID}).
   *
   * @param uploadId null for CREATE
   * @param partNumber 1 to 10000 for PART, else 0
   */
  record Multipart(
      Operation operation,
      RepositoryRef repository,
      String key,
      Credentials credentials,
      String uploadId,
      int partNumber)
      implements Route {

    public Multipart {
      Objects.requireNonNull(operation, "operation");
      Objects.requireNonNull(repository, "repository");
      Objects.requireNonNull(credentials, "credentials");
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("a multipart route needs a key");
      }
      if ((operation == Operation.CREATE) != (uploadId == null)) {
        throw new IllegalArgumentException("an upload id, except for CREATE");
      }
    }

    /** The S3 operations of a multipart upload. */
    public enum Operation {
      CREATE,
      PART,
      COMPLETE,
      ABORT
    }

    // The upload id is a bearer secret of sorts: not printed.
    @Override
    public String toString() {
      return "Multipart["
          + operation
          + (partNumber > 0 ? " " + partNumber : "")
          + " "
          + repository
          + " "
          + key
          + ", "
          + (credentials.isAnonymous() ? "anonymous" : "with credentials")
          + "]";
    }
  }

  /** The methods a cache file answers. */
  enum Method {
    GET,
    HEAD,
    PUT
  }
}
