package dev.oranc.common.registry;

import java.util.Optional;

/**
 * The error codes of the OCI distribution spec (its "Error Codes" table, code-1 to code-14), each
 * with the spec's message: what a registry's error body {@code {"errors": [{"code": …}]}} names.
 * Like jib's {@code ErrorCodes} and distribution's {@code errcode/register.go}.
 */
public enum RegistryErrorCode {
  BLOB_UNKNOWN("blob unknown to registry"),
  BLOB_UPLOAD_INVALID("blob upload invalid"),
  BLOB_UPLOAD_UNKNOWN("blob upload unknown to registry"),
  DIGEST_INVALID("provided digest did not match uploaded content"),
  MANIFEST_BLOB_UNKNOWN("manifest references a manifest or blob unknown to registry"),
  MANIFEST_INVALID("manifest invalid"),
  MANIFEST_UNKNOWN("manifest unknown to registry"),
  NAME_INVALID("invalid repository name"),
  NAME_UNKNOWN("repository name not known to registry"),
  SIZE_INVALID("provided length did not match content length"),
  UNAUTHORIZED("authentication required"),
  DENIED("requested access to the resource is denied"),
  UNSUPPORTED("the operation is unsupported"),
  TOOMANYREQUESTS("too many requests");

  private final String message;

  RegistryErrorCode(String message) {
    this.message = message;
  }

  /** The spec's message for the code. */
  public String message() {
    return message;
  }

  /** The code a registry wrote, if it is one of the spec's (exactly: codes are upper case). */
  public static Optional<RegistryErrorCode> of(Object code) {
    if (code instanceof String s) {
      for (RegistryErrorCode c : values()) {
        if (c.name().equals(s)) {
          return Optional.of(c);
        }
      }
    }
    return Optional.empty();
  }
}
