package dev.oranc.push;

import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.testkit.ProxiedRequest;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which blobs a client uploaded, from the counting proxy's record: every upload, chunked or in one
 * piece, ends with {@code PUT …/blobs/uploads/…?digest=sha256:…} naming the blob, or is one {@code
 * POST …/blobs/uploads/?digest=sha256:…} the registry answered 201.
 */
final class Uploads {

  private static final Pattern DIGEST = Pattern.compile("[?&]digest=sha256(?::|%3A)([0-9a-f]{64})");

  private Uploads() {}

  static Set<String> blobDigests(List<ProxiedRequest> requests) {
    return requests.stream()
        .filter(
            r ->
                r.path().contains("/blobs/uploads/")
                    && (r.method().equals("PUT")
                        || (r.method().equals("POST") && r.status() == 201)))
        .map(r -> DIGEST.matcher(r.uri()))
        .filter(Matcher::find)
        .map(m -> m.group(1))
        .collect(Collectors.toSet());
  }

  /** The hex SHA-256 of the NAR file a narinfo names: its blob's digest. */
  static String narDigest(NarInfo info) {
    return HexFormat.of().formatHex(info.fileHash().orElseThrow().bytes());
  }
}
