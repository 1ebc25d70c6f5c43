package dev.oranc.proxy.http;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.OrancException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.proxy.s3.AuthorizationParser;
import dev.oranc.proxy.route.RequestRejected;
import dev.oranc.proxy.s3.S3Rejected;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place where an error becomes an answer: status, headers and a one-line body.
 *
 * <pre>
 * RegistryException.NotFound       404  &lt;Error&gt;&lt;Code&gt;NoSuchKey&lt;/Code&gt;&lt;/Error&gt; (S3 clients parse it)
 * RegistryException.Unauthorized   401  WWW-Authenticate: Basic — the registry wants (other) credentials
 * RegistryException.Forbidden      403
 * RegistryException.RateLimited    503  Retry-After: the registry's, or 10 s when it did not say
 * RegistryException.Unavailable    502 unreachable or 5xx, 503 overloaded, 504 timed out
 * RegistryException.Protocol       502  an answer we cannot use (a manifest that is not a cache file's)
 * RegistryException.Refused        403  not on --allow-registry, or a connection to a non-public address
 *                                       (a fixed line naming the flag: never the address a registry gave)
 * IntegrityException               502  the registry's bytes are not what it announced
 * FormatException                  400  the client's path, key, header or body is malformed
 * RequestRejected.*                400 / 404 / 405 (Allow) / 414 / 416 (Content-Range) / 431 / 503 (shutting down, or
 *                                  the client's streams at --max-streams-per-client: Retry-After)
 * S3Rejected.*                     400 (BadDigest, IncompleteBody, InvalidPart, InvalidPartOrder, MalformedXML)
 *                                  404 (NoSuchUpload) / 503 SlowDown (Retry-After)
 * anything else                    500  "internal error" (the details go to the log only)
 * </pre>
 *
 * <p>A request signed for S3 ({@link #ofS3}) gets S3's XML error body, {@code
 * <Error><Code>…</Code><Message>…</Message></Error>}, with the codes S3 clients act on: a registry
 * that is overloaded, rate-limits or fails (429, 5xx, unreachable, timed out) is {@code 503
 * SlowDown} with {@code Retry-After}, which S3 clients retry (Nix from 2.35 too); refused
 * credentials are {@code 403 InvalidAccessKeyId}, a denied operation {@code 403 AccessDenied}.
 *
 * <p>A registry failure is never a 404: Nix remembers a 404 as "not in this cache" for an hour.
 * Bodies carry the exception's {@linkplain OrancException#publicMessage() public message}, which
 * names the registry operation and what happened in our own words, flattened to one line and
 * bounded; never a stack trace, never a credential (messages are written not to carry any), never
 * a byte the registry or a redirect target sent (its error text, a banner, a header, the size of
 * what it sent): those are in {@link #detailLine}, for the log.
 */
final class ErrorResponses {

  static final String NO_SUCH_KEY = "<Error><Code>NoSuchKey</Code></Error>";
  static final long DEFAULT_RETRY_AFTER_SECONDS = 10;
  /** What an S3 client is told to wait after a registry 5xx, which gives no Retry-After of its own. */
  static final long UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

  /** One of the client's own streams will likely have finished by then. */
  static final long TOO_BUSY_RETRY_AFTER_SECONDS = 2;
  private static final int MAX_BODY = 500;

  private ErrorResponses() {}

  /**
   * An error's answer.
   *
   * @param serverSide true when the server or the registry failed (logged at warn), false for
   *     a client's mistake or a plain miss (logged at debug)
   */
  record ErrorResponse(
      HttpResponseStatus status, String contentType, String body, Map<String, String> headers,
      boolean serverSide) {}

  static ErrorResponse of(Throwable error) {
    if (error instanceof RequestRejected r) {
      return rejected(r);
    }
    if (error instanceof S3Rejected r) {
      return new ErrorResponse(s3Status(r), Responses.TEXT, line(r), s3Headers(r), serverSide(r));
    }
    if (error instanceof OrancException e) {
      return oranc(e);
    }
    return new ErrorResponse(
        HttpResponseStatus.INTERNAL_SERVER_ERROR, Responses.TEXT, "internal error", Map.of(), true);
  }

  private static ErrorResponse oranc(OrancException e) {
    if (e instanceof FormatException) {
      return text(HttpResponseStatus.BAD_REQUEST, e, false);
    }
    if (e instanceof IntegrityException) {
      return text(HttpResponseStatus.BAD_GATEWAY, e, true);
    }
    RegistryException r = (RegistryException) e;
    if (r instanceof RegistryException.NotFound) {
      return new ErrorResponse(HttpResponseStatus.NOT_FOUND, Responses.XML, NO_SUCH_KEY, Map.of(), false);
    }
    if (r instanceof RegistryException.Unauthorized) {
      return new ErrorResponse(
          HttpResponseStatus.UNAUTHORIZED, Responses.TEXT, line(r),
          Map.of(HttpHeaderNames.WWW_AUTHENTICATE.toString(), "Basic realm=\"oranc\""), false);
    }
    if (r instanceof RegistryException.Forbidden) {
      return text(HttpResponseStatus.FORBIDDEN, r, false);
    }
    if (r instanceof RegistryException.RateLimited limited) {
      long seconds = limited.retryAfterSeconds() >= 0 ? limited.retryAfterSeconds() : DEFAULT_RETRY_AFTER_SECONDS;
      return new ErrorResponse(
          HttpResponseStatus.SERVICE_UNAVAILABLE, Responses.TEXT, line(r),
          Map.of(HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(seconds)), true);
    }
    if (r instanceof RegistryException.Unavailable u) {
      HttpResponseStatus status =
          switch (u.reason()) {
            case TIMEOUT -> HttpResponseStatus.GATEWAY_TIMEOUT;
            case OVERLOADED -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            case UNREACHABLE, SERVER_ERROR -> HttpResponseStatus.BAD_GATEWAY;
          };
      return text(status, r, true);
    }
    if (r instanceof RegistryException.Protocol) {
      return text(HttpResponseStatus.BAD_GATEWAY, r, true);
    }
    if (r instanceof RegistryException.Refused refused) {
      return new ErrorResponse(HttpResponseStatus.FORBIDDEN, Responses.TEXT, refusal(refused), Map.of(), false);
    }
    throw new AssertionError("unmapped registry error " + r.getClass().getName());
  }

  static final String ADDRESS_REFUSED =
      "this server does not connect to the registry (or to where it redirects): its address is"
          + " loopback, private, link-local or otherwise internal; an operator serves such a registry"
          + " with --allow-registry HOST[:PORT]";

  /**
   * A refusal by policy. An allow-list refusal names the registry the client asked for; an
   * address refusal is one fixed line, since its message may name a host or an address a
   * registry sent us (it is in the log).
   */
  private static String refusal(RegistryException.Refused r) {
    return switch (r.reason()) {
      case NOT_ALLOWED -> line(r);
      case ADDRESS -> ADDRESS_REFUSED;
    };
  }

  private static ErrorResponse rejected(RequestRejected r) {
    if (r instanceof RequestRejected.BadRequest) {
      return text(HttpResponseStatus.BAD_REQUEST, r, false);
    }
    if (r instanceof RequestRejected.NoSuchRoute) {
      return text(HttpResponseStatus.NOT_FOUND, r, false);
    }
    if (r instanceof RequestRejected.MethodNotAllowed m) {
      Map<String, String> headers = new LinkedHashMap<>();
      headers.put(HttpHeaderNames.ALLOW.toString(), String.join(", ", m.allowed()));
      return new ErrorResponse(HttpResponseStatus.METHOD_NOT_ALLOWED, Responses.TEXT, line(r), headers, false);
    }
    if (r instanceof RequestRejected.UriTooLong) {
      return text(HttpResponseStatus.REQUEST_URI_TOO_LONG, r, false);
    }
    if (r instanceof RequestRejected.HeadersTooLarge) {
      return text(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, r, false);
    }
    if (r instanceof RequestRejected.ShuttingDown) {
      return new ErrorResponse(
          HttpResponseStatus.SERVICE_UNAVAILABLE, Responses.TEXT, line(r),
          Map.of(HttpHeaderNames.RETRY_AFTER.toString(), "1"), false);
    }
    if (r instanceof RequestRejected.RangeNotSatisfiable n) {
      return new ErrorResponse(
          HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, Responses.TEXT, line(r),
          Map.of(HttpHeaderNames.CONTENT_RANGE.toString(), "bytes */" + n.size()), false);
    }
    if (r instanceof RequestRejected.TooBusy) {
      return new ErrorResponse(
          HttpResponseStatus.SERVICE_UNAVAILABLE, Responses.TEXT, line(r),
          Map.of(HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(TOO_BUSY_RETRY_AFTER_SECONDS)), false);
    }
    throw new AssertionError("unmapped rejection " + r.getClass().getName());
  }

  private static HttpResponseStatus s3Status(S3Rejected r) {
    if (r instanceof S3Rejected.NoSuchUpload) {
      return HttpResponseStatus.NOT_FOUND;
    }
    if (r instanceof S3Rejected.SlowDown) {
      return HttpResponseStatus.SERVICE_UNAVAILABLE;
    }
    if (r instanceof S3Rejected.BadDigest || r instanceof S3Rejected.IncompleteBody
        || r instanceof S3Rejected.InvalidPart || r instanceof S3Rejected.InvalidPartOrder
        || r instanceof S3Rejected.MalformedXml) {
      return HttpResponseStatus.BAD_REQUEST;
    }
    throw new AssertionError("unmapped S3 rejection " + r.getClass().getName());
  }

  /** A SlowDown is the server's (warn), unless the client is at its own allowance (debug). */
  private static boolean serverSide(S3Rejected r) {
    return r instanceof S3Rejected.SlowDown s && !s.clientAtItsLimit();
  }

  private static Map<String, String> s3Headers(S3Rejected r) {
    if (r instanceof S3Rejected.SlowDown s) {
      return Map.of(HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(Math.max(1, s.retryAfterSeconds())));
    }
    return Map.of();
  }

  // --- S3 ----------------------------------------------------------------------------------------

  /** An error's answer to a request signed for S3: the status S3 would give and S3's XML body. */
  static ErrorResponse ofS3(Throwable error) {
    if (error instanceof S3Rejected r) {
      return s3(s3Status(r), r.code(), r, s3Headers(r), serverSide(r));
    }
    if (error instanceof RequestRejected r) {
      ErrorResponse plain = rejected(r);
      String code;
      if (r instanceof RequestRejected.BadRequest) {
        code = "InvalidRequest";
      } else if (r instanceof RequestRejected.NoSuchRoute) {
        code = "NoSuchKey";
      } else if (r instanceof RequestRejected.MethodNotAllowed) {
        code = "MethodNotAllowed";
      } else if (r instanceof RequestRejected.UriTooLong) {
        code = "InvalidURI";
      } else if (r instanceof RequestRejected.HeadersTooLarge) {
        code = "RequestHeaderSectionTooLarge";
      } else if (r instanceof RequestRejected.ShuttingDown || r instanceof RequestRejected.TooBusy) {
        code = "SlowDown";
      } else if (r instanceof RequestRejected.RangeNotSatisfiable) {
        code = "InvalidRange";
      } else {
        throw new AssertionError("unmapped rejection " + r.getClass().getName());
      }
      return s3(plain.status(), code, r, plain.headers(), plain.serverSide());
    }
    if (error instanceof FormatException f) {
      boolean auth = AuthorizationParser.SUBJECT.equals(f.subject());
      return s3(HttpResponseStatus.BAD_REQUEST, auth ? "AuthorizationHeaderMalformed" : "InvalidArgument", f,
          Map.of(), false);
    }
    if (error instanceof IntegrityException e) {
      return s3(HttpResponseStatus.BAD_GATEWAY, "InternalError", e, Map.of(), true);
    }
    if (error instanceof RegistryException r) {
      if (r instanceof RegistryException.NotFound) {
        return s3(HttpResponseStatus.NOT_FOUND, "NoSuchKey", r, Map.of(), false);
      }
      if (r instanceof RegistryException.Unauthorized) {
        return s3(HttpResponseStatus.FORBIDDEN, "InvalidAccessKeyId", r, Map.of(), false);
      }
      if (r instanceof RegistryException.Forbidden) {
        return s3(HttpResponseStatus.FORBIDDEN, "AccessDenied", r, Map.of(), false);
      }
      if (r instanceof RegistryException.RateLimited limited) {
        long seconds = limited.retryAfterSeconds() >= 0 ? limited.retryAfterSeconds() : DEFAULT_RETRY_AFTER_SECONDS;
        return slowDown(r, seconds);
      }
      if (r instanceof RegistryException.Unavailable) {
        // Whatever the reason (5xx, unreachable, timed out): a failure to retry, never a miss.
        return slowDown(r, UNAVAILABLE_RETRY_AFTER_SECONDS);
      }
      if (r instanceof RegistryException.Protocol) {
        return s3(HttpResponseStatus.BAD_GATEWAY, "InternalError", r, Map.of(), true);
      }
      if (r instanceof RegistryException.Refused refused) {
        return new ErrorResponse(HttpResponseStatus.FORBIDDEN, Responses.XML,
            s3Body("AccessDenied", refusal(refused)), Map.of(), false);
      }
      throw new AssertionError("unmapped registry error " + r.getClass().getName());
    }
    return new ErrorResponse(HttpResponseStatus.INTERNAL_SERVER_ERROR, Responses.XML,
        s3Body("InternalError", "internal error"), Map.of(), true);
  }

  private static ErrorResponse slowDown(RegistryException r, long seconds) {
    return s3(HttpResponseStatus.SERVICE_UNAVAILABLE, "SlowDown", r,
        Map.of(HttpHeaderNames.RETRY_AFTER.toString(), Long.toString(seconds)), true);
  }

  private static ErrorResponse s3(
      HttpResponseStatus status, String code, Throwable e, Map<String, String> headers, boolean serverSide) {
    return new ErrorResponse(status, Responses.XML, s3Body(code, line(e)), headers, serverSide);
  }

  static String s3Body(String code, String message) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>"
        + xmlEscape(message) + "</Message></Error>";
  }

  static String xmlEscape(String s) {
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&apos;");
        default -> b.append(c < 0x20 ? ' ' : c);
      }
    }
    return b.toString();
  }

  private static ErrorResponse text(HttpResponseStatus status, Throwable e, boolean serverSide) {
    return new ErrorResponse(status, Responses.TEXT, line(e), Map.of(), serverSide);
  }

  /**
   * The public message as one bounded, printable line: line breaks and tabs become spaces, any
   * other control character (a NUL or an escape a client put in its path, quoted back by a
   * parser's message) becomes '?', so neither a body nor a log line can be split or made to drive
   * a terminal.
   */
  static String line(Throwable e) {
    return oneLine(e instanceof OrancException o ? o.publicMessage() : e.getMessage(), e);
  }

  /** As {@link #line}, with what the registry said: for the log only. */
  static String detailLine(Throwable e) {
    return oneLine(e.getMessage(), e);
  }

  private static String oneLine(String message, Throwable e) {
    String m = message == null ? e.getClass().getSimpleName() : message;
    String one = m.replaceAll("[\\r\\n\\t]+", " ").strip();
    StringBuilder b = new StringBuilder(Math.min(one.length(), MAX_BODY + 1));
    for (int i = 0; i < one.length() && b.length() < MAX_BODY; i++) {
      char c = one.charAt(i);
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    return one.length() > MAX_BODY ? b + "…" : b.toString();
  }
}
