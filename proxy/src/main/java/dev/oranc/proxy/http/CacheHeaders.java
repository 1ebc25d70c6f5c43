package dev.oranc.proxy.http;

import dev.oranc.proxy.route.Route;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.time.Duration;

/**
 * What a cache in front of the server (nginx {@code proxy_cache}, a CDN) and a browser may do with
 * an answer: {@code Cache-Control}, {@code Vary}, and the headers that keep hosted content inert.
 *
 * <p>Design note. A shared cache stores an answer under its URL and hands it to whoever asks next,
 * so an answer must say who it is for. The rules, in order:
 *
 * <pre>
 * every answer                       X-Content-Type-Options: nosniff
 *                                    Content-Security-Policy: default-src 'none'; sandbox
 * not a GET/HEAD of a file           no-store (banner, health, metrics, PUT, S3 multipart)
 * error (4xx/5xx), 404 to credentials no-store
 * 404 to an anonymous request        public, max-age=--max-age-not-found (0: no-store)
 * 200/206/304, 302 to an upstream:
 *   request with credentials         private, ...   (never stored by a shared cache)
 *   anonymous nar/*                  public, max-age=31536000, immutable
 *   anonymous, any other key         public, max-age=--max-age-narinfo (0: no-store)
 * 307 to storage (--nar-redirect)   no-store (a presigned URL: one caller's, and it expires)
 * file GET/HEAD                      Vary: Authorization
 * </pre>
 *
 * "Credentials" is any {@code Authorization} header (Basic, S3-signed, or one the server cannot
 * read) and an S3 presigned query: the registry may answer such a request with what it would refuse
 * an anonymous one. {@code Vary: Authorization} is for caches told to ignore {@code Cache-Control}:
 * the stored variant is then keyed by the header, and an anonymous request never matches one stored
 * for a credential.
 *
 * <p>Why these lifetimes. A NAR's key names its file hash ({@code nar/<FileHash>.nar.xz}): its
 * bytes never change, so a year and {@code immutable}. A narinfo names its store path, and is
 * replaced when a path is pushed again (new signatures, another compression) or deleted; a stale
 * one costs a client the new signatures, or, for a deleted path, a NAR 404 and a failed
 * substitution, for at most that long. This server itself trusts a key for {@code
 * --layer-cache-ttl} (5 min), so the 60 s default adds little. A stored 404 would hide a path
 * pushed since, for everyone behind the cache; Nix remembers a 404 itself (an hour, {@code
 * narinfo-cache-negative-ttl}), so by default a 404 is not stored.
 *
 * <p>Inert content. The uploader picks a file's {@code Content-Type}, so an HTML page with a script
 * can be stored and served from this server's origin. {@code nosniff} stops a browser from guessing
 * a more dangerous type than the one sent; {@code sandbox} makes a page a unique opaque origin with
 * no scripts, forms or pop-ups, and {@code default-src 'none'} lets it load nothing (no beacon
 * images). They go on every answer, not only on types outside Nix's: Nix and S3 clients ignore
 * them, and a list of "safe" types is one more thing to get wrong (an error body quotes a client's
 * path, XML can carry a stylesheet, SVG scripts).
 */
public final class CacheHeaders {

  static final AsciiString X_CONTENT_TYPE_OPTIONS = AsciiString.cached("x-content-type-options");
  static final String NOSNIFF = "nosniff";
  static final String SANDBOX = "default-src 'none'; sandbox";
  static final String NO_STORE = "no-store";
  static final String IMMUTABLE = "public, max-age=31536000, immutable";
  static final String PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable";
  static final String NAR_PREFIX = "nar/";

  private final String publicShort;
  private final String privateShort;
  private final String notFound;

  /**
   * @param maxAgeNarinfo lifetime of an anonymous answer for a key outside {@code nar/} (0: not
   *     stored)
   * @param maxAgeNotFound lifetime of an anonymous 404 (0: not stored)
   */
  public CacheHeaders(Duration maxAgeNarinfo, Duration maxAgeNotFound) {
    long shortSeconds = maxAgeNarinfo.toSeconds();
    long notFoundSeconds = maxAgeNotFound.toSeconds();
    this.publicShort = shortSeconds == 0 ? NO_STORE : "public, max-age=" + shortSeconds;
    this.privateShort = shortSeconds == 0 ? NO_STORE : "private, max-age=" + shortSeconds;
    this.notFound = notFoundSeconds == 0 ? NO_STORE : "public, max-age=" + notFoundSeconds;
  }

  /** Sets the headers of an answer with {@code status} to a request for {@code route}. */
  void apply(HttpHeaders headers, int status, Route route, boolean credentialed) {
    headers.set(X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    headers.set(HttpHeaderNames.CONTENT_SECURITY_POLICY, SANDBOX);
    if (!(route instanceof Route.File file) || file.method() == Route.Method.PUT) {
      headers.set(HttpHeaderNames.CACHE_CONTROL, NO_STORE);
      return;
    }
    headers.set(HttpHeaderNames.VARY, HttpHeaderNames.AUTHORIZATION);
    headers.set(HttpHeaderNames.CACHE_CONTROL, cacheControl(status, file.key(), credentialed));
  }

  String cacheControl(int status, String key, boolean credentialed) {
    boolean nar = key.startsWith(NAR_PREFIX);
    switch (status) {
      case 200, 206, 304:
        if (nar) {
          return credentialed ? PRIVATE_IMMUTABLE : IMMUTABLE;
        }
        return credentialed ? privateShort : publicShort;
      case 302:
        // The upstream has it now; an upstream can lose a key, so never for long.
        return credentialed ? privateShort : publicShort;
      case 404:
        return credentialed ? NO_STORE : notFound;
      default:
        return NO_STORE;
    }
  }

  /**
   * Whether an {@code If-None-Match} field value names {@code etag} (a quoted strong tag): {@code
   * *}, or a list of entity tags compared weakly (RFC 9110 §13.1.2: a {@code W/} prefix is
   * ignored). A malformed value matches nothing, so the full answer goes out.
   */
  static boolean ifNoneMatch(String field, String etag) {
    if (field == null) {
      return false;
    }
    int i = 0;
    int n = field.length();
    boolean matched = false;
    while (i < n) {
      char c = field.charAt(i);
      if (c == ' ' || c == '\t' || c == ',') {
        i++;
        continue;
      }
      if (c == '*') {
        matched = true;
        i++;
        continue;
      }
      if (c == 'W' && i + 1 < n && field.charAt(i + 1) == '/') {
        i += 2;
        if (i >= n) {
          return false;
        }
        c = field.charAt(i);
      }
      if (c != '"') {
        return false;
      }
      int close = field.indexOf('"', i + 1);
      if (close < 0) {
        return false;
      }
      if (field.regionMatches(i, etag, 0, etag.length()) && close + 1 - i == etag.length()) {
        matched = true;
      }
      i = close + 1;
    }
    return matched;
  }
}
