package dev.oranc.proxy.route;

import dev.oranc.common.registry.Credentials;
import dev.oranc.common.registry.RepositoryRef;
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
      return "File[" + method + " " + repository + " " + key + ", "
          + (credentials.isAnonymous() ? "anonymous" : "with credentials") + "]";
    }
  }

  /** The methods a cache file answers. */
  enum Method {
    GET,
    HEAD,
    PUT
  }
}
