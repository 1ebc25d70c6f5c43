package dev.oranc.common.registry;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.error.RegistryException.Unavailable.Reason;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.transport.ConnectionFailure;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a registry's unsuccessful answer, or a failed connection, into a {@link RegistryException}
 * that names the operation and its status in our words ({@code registry answered 500 Internal
 * Server Error}), and keeps what the registry said (its error code and message from the
 * distribution spec's error body, a connection failure's own text) as the exception's foreign part:
 * in the log, never in an answer to a client.
 */
final class RegistryErrors {

  private static final int MAX_DETAIL = 300;

  private RegistryErrors() {}

  static RegistryException fromResponse(String operation, Response r, Credentials credentials) {
    String detail = "registry answered " + statusText(r.status());
    String said = registryMessage(r.body());
    return switch (r.status()) {
      case 401 ->
          new RegistryException.Unauthorized(
              operation,
              detail
                  + (credentials == null || credentials.isAnonymous()
                      ? "; the registry wants credentials"
                      : "; the registry refused the credentials"),
              said);
      case 403 -> new RegistryException.Forbidden(operation, detail, said);
      case 404 -> new RegistryException.NotFound(operation, detail, said);
      case 429 -> new RegistryException.RateLimited(operation, detail, said, retryAfterSeconds(r));
      default -> {
        if (r.status() >= 500) {
          yield new RegistryException.Unavailable(
              operation,
              detail,
              said,
              r.status() == 503 ? Reason.OVERLOADED : Reason.SERVER_ERROR,
              r.status(),
              null);
        }
        yield new RegistryException.Protocol(operation, "unexpected answer: " + detail, said, null);
      }
    };
  }

  static RegistryException fromFailure(String operation, Throwable cause) {
    if (cause instanceof RegistryException e) {
      return e;
    }
    if (cause instanceof ConnectionFailure f && f.kind() == ConnectionFailure.Kind.REFUSED) {
      return new RegistryException.Refused(
          operation, f.publicPhrase(), f.detail(), RegistryException.Refused.Reason.ADDRESS, f);
    }
    if (cause instanceof ConnectionFailure f) {
      Reason reason =
          switch (f.kind()) {
            case TIMEOUT -> Reason.TIMEOUT;
            case OVERLOADED -> Reason.OVERLOADED;
            case CONNECT, CLOSED, TLS -> Reason.UNREACHABLE;
            case MALFORMED, REFUSED -> null;
          };
      if (reason == null) {
        return new RegistryException.Protocol(operation, f.publicPhrase(), f.detail(), f);
      }
      return new RegistryException.Unavailable(
          operation, f.publicPhrase(), f.detail(), reason, 0, f);
    }
    String message =
        cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return new RegistryException.Unavailable(
        operation, "cannot reach the registry", message, Reason.UNREACHABLE, 0, cause);
  }

  /** {@code Retry-After} in seconds (delta or HTTP date); -1 when absent or unreadable. */
  static long retryAfterSeconds(Response r) {
    String v = r.headers().get(HttpHeaderNames.RETRY_AFTER);
    if (v == null) {
      return -1;
    }
    v = v.trim();
    try {
      return Math.max(0, Long.parseLong(v));
    } catch (NumberFormatException e) {
      try {
        ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
        return Math.max(0, Duration.between(ZonedDateTime.now(at.getZone()), at).toSeconds());
      } catch (RuntimeException e2) {
        return -1;
      }
    }
  }

  static String statusText(int status) {
    return status + " " + HttpResponseStatus.valueOf(status).reasonPhrase();
  }

  /** "CODE: message" from a distribution error body; null when there is none. */
  static String registryMessage(byte[] body) {
    if (body == null || body.length == 0 || body[0] != '{') {
      return null;
    }
    try {
      Map<String, Object> root = JSON.std.mapFrom(body);
      if (root != null
          && root.get("errors") instanceof List<?> errors
          && !errors.isEmpty()
          && errors.get(0) instanceof Map<?, ?> first) {
        Object code = first.get("code");
        Object message = first.get("message");
        String said = message == null ? "" : message.toString();
        if (said.isBlank()) {
          // A bare code: the spec's wording for it says what it means.
          said = RegistryErrorCode.of(code).map(RegistryErrorCode::message).orElse(said);
        }
        String text = (code == null ? "" : code + ": ") + said;
        if (errors.size() > 1) {
          text += " (and " + (errors.size() - 1) + " more)";
        }
        return "the registry said: " + truncate(text);
      }
    } catch (Exception e) {
      // Not the spec's error body; the status says enough.
    }
    return null;
  }

  /**
   * Whether a distribution error body (to a manifest PUT) says a blob is unknown or its digest
   * unreadable: {@code MANIFEST_BLOB_UNKNOWN}, {@code BLOB_UNKNOWN} or {@code DIGEST_INVALID}, and
   * nothing else (a manifest that is itself wrong is not sent again).
   */
  static boolean blobJustStoredLooksUnknown(byte[] body) {
    if (body == null || body.length == 0 || body[0] != '{') {
      return false;
    }
    try {
      Map<String, Object> root = JSON.std.mapFrom(body);
      if (root == null || !(root.get("errors") instanceof List<?> errors) || errors.isEmpty()) {
        return false;
      }
      for (Object e : errors) {
        if (!(e instanceof Map<?, ?> m)
            || !RegistryErrorCode.of(m.get("code"))
                .map(BLOB_UNKNOWN_CODES::contains)
                .orElse(false)) {
          return false;
        }
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static final Set<RegistryErrorCode> BLOB_UNKNOWN_CODES =
      EnumSet.of(
          RegistryErrorCode.MANIFEST_BLOB_UNKNOWN,
          RegistryErrorCode.BLOB_UNKNOWN,
          RegistryErrorCode.DIGEST_INVALID);

  static String truncate(String s) {
    String line = s.replaceAll("[\\r\\n\\t]+", " ");
    return line.length() > MAX_DETAIL ? line.substring(0, MAX_DETAIL) + "…" : line;
  }

  static String bodyText(byte[] body) {
    return truncate(new String(body, StandardCharsets.UTF_8));
  }
}
