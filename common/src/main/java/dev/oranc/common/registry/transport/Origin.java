package dev.oranc.common.registry.transport;

import dev.oranc.common.error.FormatException;
import java.net.URI;

/**
 * Scheme, host and port: what a connection is made to and pooled by. Registries, token services and
 * redirect targets (ghcr.io sends blob downloads to another host) each have their own.
 */
public record Origin(boolean tls, String host, int port) {

  public static Origin ofRegistry(String endpoint, boolean tls) {
    String host = endpoint;
    int port = tls ? 443 : 80;
    int colon = endpoint.lastIndexOf(':');
    if (colon > endpoint.lastIndexOf(']')) {
      host = endpoint.substring(0, colon);
      port = Integer.parseInt(endpoint.substring(colon + 1));
    }
    return new Origin(tls, unbracket(host), port);
  }

  /** The origin of an absolute {@code http}/{@code https} URI. */
  public static Origin of(URI uri) {
    String scheme = uri.getScheme();
    boolean tls;
    if ("https".equalsIgnoreCase(scheme)) {
      tls = true;
    } else if ("http".equalsIgnoreCase(scheme)) {
      tls = false;
    } else {
      throw new FormatException("URL '" + uri + "'", "is not an http or https URL");
    }
    if (uri.getHost() == null) {
      throw new FormatException("URL '" + uri + "'", "has no host");
    }
    int port = uri.getPort() == -1 ? (tls ? 443 : 80) : uri.getPort();
    return new Origin(tls, unbracket(uri.getHost()), port);
  }

  /** The {@code Host} header: the port only when it is not the scheme's default. */
  public String authority() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return port == (tls ? 443 : 80) ? h : h + ":" + port;
  }

  String scheme() {
    return tls ? "https" : "http";
  }

  public URI resolve(String pathAndQuery) {
    return URI.create(scheme() + "://" + authority() + pathAndQuery);
  }

  @Override
  public String toString() {
    return scheme() + "://" + authority();
  }

  private static String unbracket(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }
}
