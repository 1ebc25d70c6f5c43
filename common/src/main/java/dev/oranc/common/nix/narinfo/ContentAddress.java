package dev.oranc.common.nix.narinfo;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.HashAlgorithm;
import dev.oranc.common.nix.hash.NixHash;

/**
 * Checks a narinfo {@code CA} value the way Nix 2.8's {@code parseContentAddress} ({@code
 * libstore/content-address.cc}) reads it: {@code text:sha256:<hash>} or {@code
 * fixed:[r:]<type>:<hash>}, the hash unprefixed in base-16, nix32 or base-64.
 *
 * <p>The value is kept as written: Nix itself writes it in canonical form (nix32), and a narinfo we
 * pass on should say what its author said.
 */
final class ContentAddress {

  private ContentAddress() {}

  /**
   * @throws FormatException with {@code subject} and {@code location} when it is malformed
   */
  static void check(String value, String subject, String location) {
    int colon = value.indexOf(':');
    if (colon < 0) {
      throw new FormatException(
          subject, location, "CA '" + value + "' is not of the form 'text:...' or 'fixed:...'");
    }
    String prefix = value.substring(0, colon);
    String rest = value.substring(colon + 1);
    boolean text = prefix.equals("text");
    if (!text && !prefix.equals("fixed")) {
      throw new FormatException(
          subject,
          location,
          "CA '" + value + "' has unknown method '" + prefix + "' (expected 'text' or 'fixed')");
    }
    if (!text && rest.startsWith("r:")) {
      rest = rest.substring(2);
    }
    int typeEnd = rest.indexOf(':');
    if (typeEnd < 0) {
      throw new FormatException(
          subject, location, "CA '" + value + "' has no '<type>:<hash>' after '" + prefix + ":'");
    }
    String typeName = rest.substring(0, typeEnd);
    HashAlgorithm algorithm =
        HashAlgorithm.ofNixName(typeName)
            .orElseThrow(
                () ->
                    new FormatException(
                        subject,
                        location,
                        "CA '" + value + "' has unknown hash type '" + typeName + "'"));
    if (text && algorithm != HashAlgorithm.SHA256) {
      throw new FormatException(
          subject,
          location,
          "CA '" + value + "': a text content address uses sha256, not " + algorithm);
    }
    try {
      NixHash.parseUnprefixed(rest.substring(typeEnd + 1), algorithm);
    } catch (FormatException e) {
      throw new FormatException(subject, location, "CA '" + value + "': " + e.getMessage());
    }
  }
}
