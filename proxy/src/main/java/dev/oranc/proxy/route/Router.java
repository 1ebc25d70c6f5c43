package dev.oranc.proxy.route;

import static dev.oranc.proxy.error.ErrorText.abbreviate;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.StrictUtf8;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.proxy.error.RequestRejected;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a request's target and {@code Authorization} header into a {@link Route} (SPEC §3).
 *
 * <pre>
 * /                                      banner
 * /-/health, /-/metrics                  services ("-" is never a registry host, so they cannot
 *                                        collide with a cache file)
 * /REGISTRY/PART1/…/PARTn/KEY…           a cache file: n = --repository-parts; the rest, joined
 *                                        by '/', is the key
 * ?registry=R&amp;repository=P             replace the path-derived registry / repository (the
 *                                        path then holds only what they do not)
 * POST …/KEY?uploads                     S3 multipart upload of KEY: create,
 * PUT …/KEY?partNumber=N&amp;uploadId=ID      a part (N from 1 to 10000),
 * POST …/KEY?uploadId=ID                 complete,
 * DELETE …/KEY?uploadId=ID               abort
 * </pre>
 *
 * Each path segment is percent-decoded on its own, as UTF-8 (so {@code %2F} inside a key segment is
 * a '/' of the key, and never splits the registry from the repository). Everything a client can get
 * wrong becomes a 4xx with a reason: a path that names no key is a 404 (as in the Rust tool); a
 * malformed escape or control character in the registry or repository, a bad registry or repository
 * name, or an unreadable {@code Authorization} header is a 400.
 *
 * <p>A key that cannot exist (a malformed escape, bytes that are not UTF-8, a control character:
 * nothing can PUT it) is a 404 for GET and HEAD, an S3 {@code NoSuchKey} for a signed request: it
 * is not in the cache, and Nix treats only 404, 403 and 410 as "absent" — a 400 fails its look-up
 * and, with {@code fallback}, turns the cache off for a minute. A PUT of such a key (or a multipart
 * upload) stays a 400 naming what is wrong, since that client has a mistake to fix. Every other key
 * has a tag (one too long for its encoding is stored under a hashed tag, {@link TagCodec}).
 *
 * <p>Raw and percent-encoded spellings of a key are the same key: Nix before 2.32 sends {@code
 * realisations/sha256:…!out.doi} and {@code log/…-gtk+3…} as they are, Nix 2.32 and later
 * percent-encodes every byte outside {@code A-Za-z0-9-._~:@} ({@code %21}, {@code %2B}, and
 * possibly {@code %2F}), and the per-segment decoding above gives both the same key. A path segment
 * never turns {@code +} into a space (that is a query's rule only).
 *
 * <p>One key has two names: {@code debuginfo/<40 hex>}, which debug-info readers (dwarffs,
 * nixseparatedebuginfod) ask for, is {@code debuginfo/<40 hex>.debug}, the key Nix's {@code
 * index-debug-info} writes; see {@link #canonicalKey}.
 */
public final class Router {

  public static final String HEALTH_PATH = "/-/health";
  public static final String METRICS_PATH = "/-/metrics";

  static final List<String> READ_METHODS = List.of("GET", "HEAD");
  static final List<String> FILE_METHODS = List.of("GET", "HEAD", "PUT");
  static final int MAX_PART_NUMBER = 10_000;

  private final int repositoryParts;
  private final TagCodec codec;

  public Router(int repositoryParts, TagCodec codec) {
    if (repositoryParts < 1) {
      throw new IllegalArgumentException(
          "repository parts: " + repositoryParts + " (expected: at least 1)");
    }
    this.repositoryParts = repositoryParts;
    this.codec = codec;
  }

  /**
   * The route of one request.
   *
   * @param method the request's method, as sent
   * @param target the request target (origin form {@code /path?query}, or absolute form)
   * @param authorization the {@code Authorization} header, or null
   * @throws RequestRejected or {@link FormatException} for what the client got wrong
   */
  public Route route(String method, String target, String authorization) {
    String path = rawPath(target);
    int q = path.indexOf('?');
    String query = q < 0 ? "" : path.substring(q + 1);
    path = q < 0 ? path : path.substring(0, q);
    int hash = path.indexOf('#');
    if (hash >= 0) {
      path = path.substring(0, hash);
    }
    switch (path) {
      case "/":
        requireRead(method);
        return new Route.Banner();
      case HEALTH_PATH:
        requireRead(method);
        return new Route.Health();
      case METRICS_PATH:
        requireRead(method);
        return new Route.Metrics();
      default:
        break;
    }
    if (path.startsWith("/-/")) {
      throw new RequestRejected.NoSuchRoute("no service at " + abbreviate(path));
    }
    Map<String, String> params = query(query);
    Route.Multipart.Operation multipart = multipartOperation(method, params);
    Route.Method fileMethod = multipart == null ? fileMethod(method) : null;
    String[] segments = path.substring(1).split("/", -1);
    int at = 0;
    String registry = params.get("registry");
    if (registry == null) {
      registry = decode(segments[at++]);
    }
    String repository = params.get("repository");
    if (repository == null) {
      if (segments.length - at <= repositoryParts) {
        throw noKey(path);
      }
      List<String> parts = new ArrayList<>(repositoryParts);
      for (int i = at; i < at + repositoryParts; i++) {
        parts.add(decode(segments[i]));
      }
      repository = String.join("/", parts);
      at += repositoryParts;
    }
    if (at >= segments.length || (at == segments.length - 1 && segments[at].isEmpty())) {
      throw noKey(path);
    }
    requirePrintable("registry", registry);
    requirePrintable("repository", repository);
    RepositoryRef ref = RepositoryRef.of(registry, repository);
    boolean write = fileMethod == Route.Method.PUT || multipart != null;
    String key;
    FormatException malformedKey = null;
    try {
      key = key(segments, at);
    } catch (FormatException e) {
      if (write) {
        throw e;
      }
      key = null;
      malformedKey = e;
    }
    if (write) {
      codec.writeTag(key);
    }
    Credentials credentials = AuthorizationParser.parse(authorization);
    if (malformedKey != null) {
      // Checked after the header: a request whose credentials are unreadable is told so first.
      throw new RequestRejected.NoSuchRoute(
          "no such key: it cannot exist, since it could not be stored ("
              + malformedKey.getMessage()
              + ")");
    }
    if (multipart != null) {
      String uploadId =
          multipart == Route.Multipart.Operation.CREATE ? null : params.get("uploadId");
      int part =
          multipart == Route.Multipart.Operation.PART ? partNumber(params.get("partNumber")) : 0;
      return new Route.Multipart(multipart, ref, key, credentials, uploadId, part);
    }
    return new Route.File(fileMethod, ref, key, credentials);
  }

  /** The multipart operation a request's method and query name; null for a plain file request. */
  private static Route.Multipart.Operation multipartOperation(
      String method, Map<String, String> params) {
    String uploadId = params.get("uploadId");
    if (uploadId == null) {
      if (params.containsKey("uploads") && method.equals("POST")) {
        return Route.Multipart.Operation.CREATE;
      }
      if (method.equals("POST") || method.equals("DELETE")) {
        throw new RequestRejected.MethodNotAllowed(method, FILE_METHODS);
      }
      return null;
    }
    if (uploadId.isEmpty() || uploadId.length() > 200) {
      throw new RequestRejected.BadRequest("uploadId is empty or too long");
    }
    return switch (method) {
      case "PUT" -> {
        if (!params.containsKey("partNumber")) {
          throw new RequestRejected.BadRequest("a PUT with uploadId needs partNumber (UploadPart)");
        }
        yield Route.Multipart.Operation.PART;
      }
      case "POST" -> Route.Multipart.Operation.COMPLETE;
      case "DELETE" -> Route.Multipart.Operation.ABORT;
      default ->
          throw new RequestRejected.MethodNotAllowed(
              method + " with uploadId", List.of("PUT", "POST", "DELETE"));
    };
  }

  private static int partNumber(String value) {
    try {
      int n = Integer.parseInt(value);
      if (n >= 1 && n <= MAX_PART_NUMBER) {
        return n;
      }
    } catch (NumberFormatException e) {
      // the message below
    }
    throw new FormatException(
        "partNumber '" + abbreviate(value) + "'", "expected a number from 1 to " + MAX_PART_NUMBER);
  }

  /** The key: the segments from {@code at} on, each percent-decoded, joined by '/'. */
  private static String key(String[] segments, int at) {
    List<String> parts = new ArrayList<>(segments.length - at);
    for (int i = at; i < segments.length; i++) {
      parts.add(decode(segments[i]));
    }
    String key = String.join("/", parts);
    requirePrintable("key", key);
    return canonicalKey(key);
  }

  private static final Pattern DEBUGINFO_WITHOUT_SUFFIX = Pattern.compile("debuginfo/[0-9a-f]{40}");

  /**
   * The key a request names. Nix writes a debug file's index entry as {@code debuginfo/<build
   * id>.debug} (40 hex digits: the two of the {@code .build-id} directory and the 38 of the file
   * name, whose {@code .debug} it keeps), but readers ask for {@code debuginfo/<build id>}. Both
   * name one key, the {@code .debug} one, for every method: one image and one registry request per
   * read, where a fallback would cost a second look-up on every miss, and a PUT of the short name
   * lands where a read of either finds it.
   */
  static String canonicalKey(String key) {
    if (key.length() == 50 && DEBUGINFO_WITHOUT_SUFFIX.matcher(key).matches()) {
      return key + ".debug";
    }
    return key;
  }

  /**
   * No cache file's key holds a control character (Nix's keys are hashes, store path names and
   * derivation names), and no registry or repository name can; one would reach log lines and
   * messages: a {@code %0A} splits a log line, an escape drives the operator's terminal. Such a
   * request is a 400, checked here before any parser can quote the value back.
   */
  private static void requirePrintable(String what, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isISOControl(c)) {
        throw new FormatException(
            what + " '" + abbreviate(value) + "'",
            "position " + i,
            String.format("control character U+%04X (%s names are printable text)", (int) c, what));
      }
    }
  }

  private RequestRejected noKey(String path) {
    return new RequestRejected.NoSuchRoute(
        "path "
            + abbreviate(path)
            + " names no cache file: expected /REGISTRY/"
            + "REPOSITORY ("
            + repositoryParts
            + " segment"
            + (repositoryParts == 1 ? "" : "s")
            + ")/KEY");
  }

  private static void requireRead(String method) {
    if (!READ_METHODS.contains(method)) {
      throw new RequestRejected.MethodNotAllowed(method, READ_METHODS);
    }
  }

  private static Route.Method fileMethod(String method) {
    return switch (method) {
      case "GET" -> Route.Method.GET;
      case "HEAD" -> Route.Method.HEAD;
      case "PUT" -> Route.Method.PUT;
      default -> throw new RequestRejected.MethodNotAllowed(method, FILE_METHODS);
    };
  }

  /** The path-and-query of an origin-form or absolute-form target. */
  private static String rawPath(String target) {
    if (target.startsWith("/")) {
      return target;
    }
    int scheme = target.indexOf("://");
    if (scheme > 0) {
      int slash = target.indexOf('/', scheme + 3);
      return slash < 0 ? "/" : target.substring(slash);
    }
    throw new RequestRejected.BadRequest(
        "request target '"
            + abbreviate(target)
            + "' is not a path (expected /REGISTRY/REPOSITORY/KEY)");
  }

  private static Map<String, String> query(String query) {
    Map<String, String> params = new HashMap<>();
    if (query.isEmpty()) {
      return params;
    }
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decodeQuery(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decodeQuery(pair.substring(eq + 1));
      // The first occurrence wins, as in most servers; later ones are ignored.
      params.putIfAbsent(name, value);
    }
    return params;
  }

  private static String decodeQuery(String s) {
    return decode(s.replace('+', ' '));
  }

  /** Percent-decodes one segment as UTF-8; a malformed escape or byte sequence is a 400. */
  static String decode(String segment) {
    if (isPlainAscii(segment)) {
      return segment;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(segment.length());
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      if (c == '%') {
        int hi = i + 1 < segment.length() ? Character.digit(segment.charAt(i + 1), 16) : -1;
        int lo = i + 2 < segment.length() ? Character.digit(segment.charAt(i + 2), 16) : -1;
        if (hi < 0 || lo < 0) {
          throw new FormatException(
              "path segment '" + abbreviate(segment) + "'",
              "position " + i,
              "'%' must be followed by two hex digits");
        }
        bytes.write(hi << 4 | lo);
        i += 2;
      } else if (c <= 0xff) {
        // Netty reads the request line byte by byte into chars: a char here is a raw byte.
        bytes.write(c);
      } else {
        byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        bytes.write(utf8, 0, utf8.length);
      }
    }
    return StrictUtf8.decode(
        bytes.toByteArray(),
        "path segment '" + abbreviate(segment) + "'",
        "its percent-escapes are not UTF-8");
  }

  private static boolean isPlainAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%' || c >= 0x80) {
        return false;
      }
    }
    return true;
  }
}
