package dev.oranc.testkit;

/**
 * One request that went through a {@link Registry}'s counting proxy ({@link
 * Registry#proxyAddress()}), and what the registry answered.
 *
 * @param method the request method
 * @param uri the request target as sent: path and query
 * @param authorizationScheme {@code Basic}, {@code Bearer}, or null when the request carried no
 *     {@code Authorization} header (the credentials themselves are not kept)
 * @param bodyBytes payload bytes the client sent (chunked framing not counted)
 * @param status the final status, or 0 if no response came (the connection closed first)
 * @param responseBodyBytes payload bytes of the response
 */
public record ProxiedRequest(
    String method,
    String uri,
    String authorizationScheme,
    long bodyBytes,
    int status,
    long responseBodyBytes) {

  /** {@link #uri()} without its query. */
  public String path() {
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }

  /** Whether {@link #method()} is {@code method} and the path matches {@code pathRegex} whole. */
  public boolean matches(String method, String pathRegex) {
    return this.method.equals(method) && path().matches(pathRegex);
  }
}
