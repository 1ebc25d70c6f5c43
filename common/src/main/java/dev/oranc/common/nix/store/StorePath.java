package dev.oranc.common.nix.store;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.Nix32;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A Nix store path: {@code <store dir>/<32 nix32 characters>-<name>}.
 *
 * <p>Validation is that of Nix 2.8 ({@code libstore/path.cc}): the hash part is 32 characters of
 * the nix32 alphabet; the name is 1 to 211 characters of {@code [a-zA-Z0-9+\-._?=]}. A full path is
 * first made canonical as Nix's {@code canonPath} does (repeated and trailing slashes dropped,
 * {@code .} and {@code ..} resolved lexically, no symlinks followed), then must sit directly in the
 * store directory.
 *
 * <p>Two checks come from later Nix versions (the current {@code checkName} and {@code
 * StorePath::StorePath}), which Nix 2.8 lacks: the character after the hash part must be {@code -}
 * (2.8 skips it unchecked), and the name may not be {@code .} or {@code ..} nor start with {@code
 * .-} or {@code ..-}. Other names starting with {@code .} are valid ({@code nix-store --add
 * .bashrc} makes one). So every path Nix creates is accepted, and a few that no Nix creates are
 * not.
 *
 * <p>Paths order by base name, as Nix's {@code StorePathSet} does; within one store directory this
 * is also the order of the full paths, which signature fingerprints use.
 *
 * @param storeDir the canonical, absolute store directory, e.g. {@code /nix/store}
 * @param hashPart the 32-character nix32 hash part
 * @param name the name after the {@code -}
 */
public record StorePath(String storeDir, String hashPart, String name)
    implements Comparable<StorePath> {

  public static final String DEFAULT_STORE_DIR = "/nix/store";
  public static final int HASH_PART_LENGTH = 32;
  public static final int MAX_NAME_LENGTH = 211;

  public StorePath {
    Objects.requireNonNull(storeDir, "storeDir");
    Objects.requireNonNull(hashPart, "hashPart");
    Objects.requireNonNull(name, "name");
    if (!isCanonicalStoreDir(storeDir)) {
      throw new FormatException(
          "store directory '" + storeDir + "'",
          "is not canonical, write it as '" + canonicalStoreDir(storeDir) + "'");
    }
    String subject = subject(storeDir + "/" + hashPart + "-" + name);
    int offset = storeDir.length() + 1;
    checkHashPart(subject, hashPart, offset);
    checkName(subject, name, offset);
  }

  public static StorePath of(String storeDir, String hashPart, String name) {
    return new StorePath(storeDir, hashPart, name);
  }

  /** Parses a full path in {@link #DEFAULT_STORE_DIR}. */
  public static StorePath parse(String path) {
    return parse(DEFAULT_STORE_DIR, path);
  }

  /**
   * Parses a full store path such as {@code /nix/store/0r2v…y-top}, as Nix's {@code
   * Store::parseStorePath} does: canonicalised first, so {@code /nix//store/x-y/} is the same path
   * as {@code /nix/store/x-y}.
   *
   * @param storeDir the store directory; made canonical ({@code /nix/store/} is fine)
   * @throws FormatException naming the path and what is wrong with it
   */
  public static StorePath parse(String storeDir, String path) {
    Objects.requireNonNull(path, "path");
    String dir = canonicalStoreDir(storeDir);
    String canonical = canonicalPath(path, subject(path));
    int slash = canonical.lastIndexOf('/');
    String parent = slash == 0 ? "/" : canonical.substring(0, slash);
    if (!parent.equals(dir)) {
      throw new FormatException(
          subject(path),
          canonical.startsWith(dir + "/")
              ? "is inside a store path, not directly under " + dir
              : "is not under " + dir);
    }
    return parseBaseName(dir, canonical.substring(slash + 1), path);
  }

  /**
   * The store path that contains {@code path}: {@code /nix/store/x-y/bin/z} gives {@code
   * /nix/store/x-y}, like Nix's {@code Store::toStorePath}. For callers that resolved a symlink
   * such as {@code ./result} into the store.
   */
  public static StorePath parseContaining(String storeDir, String path) {
    Objects.requireNonNull(path, "path");
    String dir = canonicalStoreDir(storeDir);
    String canonical = canonicalPath(path, subject(path));
    String prefix = dir + "/";
    if (!canonical.startsWith(prefix) || canonical.length() == prefix.length()) {
      throw new FormatException(subject(path), "is not under " + dir);
    }
    int end = canonical.indexOf('/', prefix.length());
    String baseName = canonical.substring(prefix.length(), end < 0 ? canonical.length() : end);
    return parseBaseName(dir, baseName, path);
  }

  /**
   * Parses a base name such as {@code z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep}, as narinfo {@code
   * References} and {@code Deriver} fields carry them.
   */
  public static StorePath parseBaseName(String storeDir, String baseName) {
    Objects.requireNonNull(baseName, "baseName");
    return parseBaseName(canonicalStoreDir(storeDir), baseName, baseName);
  }

  private static StorePath parseBaseName(String dir, String baseName, String original) {
    String subject = subject(original);
    // Positions count in what the caller gave us; -1 when canonicalisation moved the base name.
    int offset = original.lastIndexOf(baseName);
    if (baseName.length() < HASH_PART_LENGTH + 2) {
      throw new FormatException(
          subject,
          "base name '"
              + baseName
              + "' is too short: expected 32 nix32 characters, '-' and a name");
    }
    String hashPart = baseName.substring(0, HASH_PART_LENGTH);
    checkHashPart(subject, hashPart, offset);
    if (baseName.charAt(HASH_PART_LENGTH) != '-') {
      throw new FormatException(
          subject,
          at(offset, HASH_PART_LENGTH),
          "expected '-' after the 32-character hash part, found "
              + describe(baseName.charAt(HASH_PART_LENGTH)));
    }
    String name = baseName.substring(HASH_PART_LENGTH + 1);
    checkName(subject, name, offset);
    return new StorePath(dir, hashPart, name);
  }

  /** Location of index {@code i} of a base name found at {@code offset} in the input (or not). */
  private static String at(int offset, int i) {
    return offset >= 0 ? "position " + (offset + i) : "position " + i + " of the base name";
  }

  /** {@code offset}: where the base name starts in the input, -1 if it does not appear there. */
  private static void checkHashPart(String subject, String hashPart, int offset) {
    if (hashPart.length() != HASH_PART_LENGTH) {
      throw new FormatException(
          subject, "hash part '" + hashPart + "' has " + hashPart.length() + " characters, not 32");
    }
    for (int i = 0; i < HASH_PART_LENGTH; i++) {
      char c = hashPart.charAt(i);
      if (!Nix32.isDigit(c)) {
        throw new FormatException(
            subject,
            at(offset, i),
            "hash part has "
                + describe(c)
                + " at position "
                + i
                + ", which is not nix32 (alphabet "
                + Nix32.ALPHABET
                + ")");
      }
    }
  }

  private static void checkName(String subject, String name, int offset) {
    if (name.isEmpty()) {
      throw new FormatException(subject, "has an empty name");
    }
    if (name.length() > MAX_NAME_LENGTH) {
      throw new FormatException(
          subject,
          "name has "
              + name.length()
              + " characters, more than the "
              + MAX_NAME_LENGTH
              + " Nix allows");
    }
    if (name.equals(".") || name.equals("..") || name.startsWith(".-") || name.startsWith("..-")) {
      throw new FormatException(
          subject,
          "name '"
              + name
              + "' is not valid: its first dash-separated component is '.'"
              + " or '..'");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (!isNameChar(c)) {
        throw new FormatException(
            subject,
            at(offset, i + HASH_PART_LENGTH + 1),
            "name contains " + describe(c) + ", allowed are a-z A-Z 0-9 and + - . _ ? =");
      }
    }
  }

  private static boolean isNameChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '+'
        || c == '-'
        || c == '.'
        || c == '_'
        || c == '?'
        || c == '=';
  }

  /**
   * {@code storeDir} made canonical as Nix makes its {@code store} setting canonical.
   *
   * @throws FormatException if it is not absolute or is the root directory
   */
  public static String canonicalStoreDir(String storeDir) {
    Objects.requireNonNull(storeDir, "storeDir");
    if (isCanonicalStoreDir(storeDir)) {
      return storeDir;
    }
    String subject = "store directory '" + storeDir + "'";
    String canonical = canonicalPath(storeDir, subject);
    if (canonical.equals("/")) {
      throw new FormatException(subject, "is the root directory");
    }
    return canonical;
  }

  /**
   * Whether {@code dir} is already what {@link #canonicalStoreDir} would make of it. Every store
   * path made while parsing a narinfo checks its store directory, so this is a scan, not a split.
   */
  private static boolean isCanonicalStoreDir(String dir) {
    int n = dir.length();
    if (n < 2 || dir.charAt(0) != '/' || dir.charAt(n - 1) == '/') {
      return false;
    }
    int start = 1; // start of the current component
    for (int i = 1; i <= n; i++) {
      if (i == n || dir.charAt(i) == '/') {
        int len = i - start;
        if (len == 0
            || (len == 1 && dir.charAt(start) == '.')
            || (len == 2 && dir.charAt(start) == '.' && dir.charAt(start + 1) == '.')) {
          return false;
        }
        start = i + 1;
      } else if (dir.charAt(i) == '\0') {
        return false;
      }
    }
    return true;
  }

  /**
   * Nix's {@code canonPath} without symlink resolution: absolute, no empty, {@code .} or {@code ..}
   * components, no trailing slash. {@code ..} above the root stays at the root.
   */
  static String canonicalPath(String path, String subject) {
    if (path.isEmpty() || path.charAt(0) != '/') {
      throw new FormatException(subject, "is not an absolute path");
    }
    if (path.indexOf('\0') >= 0) {
      throw new FormatException(subject, "contains a NUL character");
    }
    List<String> parts = new ArrayList<>();
    for (String part : path.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!parts.isEmpty()) {
          parts.remove(parts.size() - 1);
        }
        continue;
      }
      parts.add(part);
    }
    return parts.isEmpty() ? "/" : "/" + String.join("/", parts);
  }

  private static String subject(String path) {
    String shown = path.length() <= 300 ? path : path.substring(0, 300) + "…";
    return "store path '" + shown + "'";
  }

  private static String describe(char c) {
    return c > 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
  }

  /** {@code <hash part>-<name>}, the file name in the store directory. */
  public String baseName() {
    return hashPart + "-" + name;
  }

  /** Whether this is a derivation ({@code .drv}), as Nix's {@code StorePath::isDerivation}. */
  public boolean isDerivation() {
    return name.endsWith(".drv");
  }

  /** The same base name in another store directory. */
  public StorePath withStoreDir(String otherStoreDir) {
    return new StorePath(canonicalStoreDir(otherStoreDir), hashPart, name);
  }

  @Override
  public int compareTo(StorePath other) {
    int c = hashPart.compareTo(other.hashPart);
    if (c == 0) {
      c = name.compareTo(other.name);
    }
    return c != 0 ? c : storeDir.compareTo(other.storeDir);
  }

  /** The full path, {@code <store dir>/<base name>}. */
  @Override
  public String toString() {
    return storeDir + "/" + baseName();
  }
}
