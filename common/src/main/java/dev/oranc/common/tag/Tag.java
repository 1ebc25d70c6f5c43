package dev.oranc.common.tag;

import dev.oranc.common.error.FormatException;

/**
 * An OCI tag: {@code [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}} (OCI distribution spec, "Pulling
 * manifests"). Validated on construction, so a {@code Tag} can go into a URL as it is.
 */
public record Tag(String value) {

  /** The longest tag a registry must accept. */
  public static final int MAX_LENGTH = 128;

  public Tag {
    if (value == null || value.isEmpty()) {
      throw new FormatException("tag ''", "", "a tag cannot be empty");
    }
    if (value.length() > MAX_LENGTH) {
      throw new FormatException(
          "tag '" + value + "'",
          "",
          "is " + value.length() + " characters long; OCI tags are at most " + MAX_LENGTH);
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '_'
              || (i > 0 && (c == '.' || c == '-'));
      if (!ok) {
        String shown = c >= 0x21 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
        throw new FormatException(
            "tag '" + value + "'",
            "character " + (i + 1),
            shown + " is not allowed there (tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})");
      }
    }
  }

  public static Tag of(String value) {
    return new Tag(value);
  }

  @Override
  public String toString() {
    return value;
  }
}
