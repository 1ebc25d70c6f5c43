package dev.oranc.common.oci;

import dev.oranc.common.error.FormatException;

/**
 * A repository in a registry: {@code ghcr.io} + {@code owner/cache}. Both parts are checked here,
 * once, so that they can go into URLs as they are and a client's typo is a clear 400 rather than a
 * request the registry refuses in its own words.
 *
 * @param registry {@code host} or {@code host:port}; an IPv6 host is written in brackets
 * @param repository the OCI repository name (distribution's {@code reference.NameRegexp} path)
 */
public record RepositoryRef(String registry, String repository) {

  /** Distribution limits a name (with the registry host) to 255 characters. */
  private static final int MAX_NAME_LENGTH = 255;

  public RepositoryRef {
    if (registry == null || !isRegistry(registry)) {
      throw new FormatException(
          "registry '" + registry + "'", "expected a host name or address with an optional :port");
    }
    int colon = registry.lastIndexOf(':');
    if (colon > registry.lastIndexOf(']')) {
      int port = Integer.parseInt(registry.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new FormatException(
            "registry '" + registry + "'", "port " + port + " is out of range");
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
    // Checked on every request the server routes: hand-written scanners over the string rather
    // than regexes and a split, which allocated more than the rest of the routing together.
    int index = 1;
    int from = 0;
    for (int i = 0; i <= repository.length(); i++) {
      if (i < repository.length() && repository.charAt(i) != '/') {
        continue;
      }
      if (!isComponent(repository, from, i)) {
        String component = repository.substring(from, i);
        throw new FormatException(
            "repository '" + repository + "'",
            "path component " + index,
            (component.isEmpty() ? "an empty component" : "'" + component + "'")
                + " is not allowed: components are lowercase letters and digits, separated by"
                + " '.', '_', '__' or dashes");
      }
      index++;
      from = i + 1;
    }
  }

  /**
   * {@code host[:port]}: DNS labels of letters, digits and inner dashes separated by dots, or an
   * IPv6 address in brackets; a port of 1 to 5 digits.
   */
  static boolean isRegistry(String s) {
    int n = s.length();
    int i = 0;
    if (n > 0 && s.charAt(0) == '[') {
      int close = s.indexOf(']');
      if (close < 2) {
        return false;
      }
      for (int j = 1; j < close; j++) {
        char c = s.charAt(j);
        if (!(isDigit(c)
            || (c >= 'a' && c <= 'f')
            || (c >= 'A' && c <= 'F')
            || c == ':'
            || c == '.')) {
          return false;
        }
      }
      i = close + 1;
    } else {
      while (true) {
        int labelStart = i;
        while (i < n && (isAlnum(s.charAt(i)) || s.charAt(i) == '-')) {
          i++;
        }
        if (i == labelStart || s.charAt(labelStart) == '-' || s.charAt(i - 1) == '-') {
          return false;
        }
        if (i < n && s.charAt(i) == '.') {
          i++;
          continue;
        }
        break;
      }
    }
    if (i == n) {
      return true;
    }
    if (s.charAt(i) != ':' || n - i - 1 < 1 || n - i - 1 > 5) {
      return false;
    }
    for (int j = i + 1; j < n; j++) {
      if (!isDigit(s.charAt(j))) {
        return false;
      }
    }
    return true;
  }

  /** {@code s[from, to)} is a path component: {@code [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*}. */
  static boolean isComponent(String s, int from, int to) {
    int n = to;
    int i = from;
    while (true) {
      int run = i;
      while (i < n && isLowerAlnum(s.charAt(i))) {
        i++;
      }
      if (i == run) {
        return false;
      }
      if (i == n) {
        return true;
      }
      char c = s.charAt(i);
      if (c == '.') {
        i++;
      } else if (c == '_') {
        i++;
        if (i < n && s.charAt(i) == '_') {
          i++;
        }
      } else if (c == '-') {
        while (i < n && s.charAt(i) == '-') {
          i++;
        }
      } else {
        return false;
      }
    }
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isAlnum(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  private static boolean isLowerAlnum(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'z');
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
