package dev.oranc.proxy;

/**
 * The server could not start: the address is taken, not local, or not permitted; or the multipart
 * spool directory cannot be made or written. One line.
 */
public final class ServerStartException extends RuntimeException {
  public ServerStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
