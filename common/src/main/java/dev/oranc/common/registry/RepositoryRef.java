package dev.oranc.common.registry;

import dev.oranc.common.error.FormatException;
import java.util.regex.Pattern;

/**
 * A repository in a registry: {@code ghcr.io} + {@code owner/cache}. Both parts are checked here,
 * once, so that they can go into URLs as they are and a client's typo is a clear 400 rather than a
 * request the registry refuses in its own words.
 *
 * @param registry {@code host} or {@code host:port}; an IPv6 host is written in brackets
 * @param repository the OCI repository name (distribution's {@code reference.NameRegexp} path)
 */
public record RepositoryRef(String registry, String repository) {

  // host: DNS labels, an IPv4 address, or a bracketed IPv6 address; optional :port.
  private static final Pattern REGISTRY =
      Pattern.compile(
          "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
              + "|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?");

  // OCI distribution spec: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*");

  /** Distribution limits a name (with the registry host) to 255 characters. */
  private static final int MAX_NAME_LENGTH = 255;

  public RepositoryRef {
    if (registry == null || !REGISTRY.matcher(registry).matches()) {
      throw new FormatException(
          "registry '" + registry + "'", "expected a host name or address with an optional :port");
    }
    int colon = registry.lastIndexOf(':');
    if (colon > registry.lastIndexOf(']')) {
      int port = Integer.parseInt(registry.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new FormatException("registry '" + registry + "'", "port " + port + " is out of range");
      }
    }
    if (repository == null || repository.isEmpty()) {
      throw new FormatException("repository ''", "a repository name cannot be empty");
    }
    if (registry.length() + 1 + repository.length() > MAX_NAME_LENGTH) {
      throw new FormatException(
          "repository '" + repository + "'",
          "registry and repository together are longer than " + MAX_NAME_LENGTH + " characters");
    }
    int index = 1;
    for (String component : repository.split("/", -1)) {
      if (!COMPONENT.matcher(component).matches()) {
        throw new FormatException(
            "repository '" + repository + "'",
            "path component " + index,
            (component.isEmpty() ? "an empty component" : "'" + component + "'")
                + " is not allowed: components are lowercase letters and digits, separated by"
                + " '.', '_', '__' or dashes");
      }
      index++;
    }
  }

  public static RepositoryRef of(String registry, String repository) {
    return new RepositoryRef(registry, repository);
  }

  /**
   * The host to connect to. Docker Hub's name {@code docker.io} is served by {@code
   * registry-1.docker.io}, the way every Docker client resolves it.
   */
  public String endpoint() {
    return registry.equals("docker.io") || registry.equals("index.docker.io")
        ? "registry-1.docker.io"
        : registry;
  }

  @Override
  public String toString() {
    return registry + "/" + repository;
  }
}
