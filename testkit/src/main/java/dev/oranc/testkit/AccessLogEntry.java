package dev.oranc.testkit;

/**
 * One line of distribution's access log (Apache combined format, written by gorilla's {@code
 * CombinedLoggingHandler}).
 *
 * @param method the request method
 * @param uri the request target: path and query
 * @param status the status answered
 * @param bytesSent response payload bytes; distribution does not log the request's size
 * @param userAgent the client's {@code User-Agent}
 */
public record AccessLogEntry(
    String method, String uri, int status, long bytesSent, String userAgent) {

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
