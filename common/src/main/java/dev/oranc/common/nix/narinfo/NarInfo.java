package dev.oranc.common.nix.narinfo;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.StrictUtf8;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.signature.Fingerprint;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.store.StorePath;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;

/**
 * A {@code <hash>.narinfo}: what a binary cache says about one store path.
 *
 * <p><b>Reading</b> follows Nix 2.8's {@code NarInfo::NarInfo} ({@code libstore/nar-info.cc}): one
 * {@code Name: value} per line, each line ending in {@code \n}, fields in any order; {@code
 * StorePath}, {@code URL}, {@code NarHash} and a non-zero {@code NarSize} are required; {@code
 * Compression} defaults to {@code bzip2} when absent or empty; hashes may be in any form {@link
 * NixHash#parse} reads; {@code References} is split on spaces (runs allowed, empty allowed); {@code
 * Deriver: unknown-deriver} means none; an empty {@code CA} means none. Fields Nix does not know,
 * and {@code System} (which Nix 2.8 reads but oranc has no use for), are kept in {@link
 * #extraFields} in their order, so that parsing and formatting lose nothing.
 *
 * <p>Where Nix 2.8 misreads rather than rejects, we reject with a message: a blank line, a line
 * without {@code ": "} after the name (Nix silently drops the character after the colon), a
 * carriage return, a repeated single-valued field (Nix keeps the last), a malformed {@code Sig}
 * (Nix fails only when verifying). No narinfo Nix writes is affected.
 *
 * <p><b>Writing</b> ({@link #format()}) produces SPEC §4's order, which is Nix's: StorePath, URL,
 * Compression, FileHash, FileSize, NarHash, NarSize, References (always present, so an empty list
 * is {@code "References: "} with the trailing space), Deriver, one Sig per signature, CA; then the
 * extra fields. Hashes are written as {@code sha256:<nix32>} whatever form they were read in, as
 * Nix does. Signatures keep their order; Nix itself writes them sorted (it holds a set).
 *
 * @param storePath the path described
 * @param url where the (compressed) NAR is, relative to the cache, e.g. {@code nar/<h>.nar.zst}
 * @param compression {@code zstd}, {@code xz}, {@code bzip2}, {@code none}, ...
 * @param fileHash hash of the compressed file, if known
 * @param fileSize size of the compressed file, if known
 * @param narHash hash of the uncompressed NAR
 * @param narSize size of the uncompressed NAR, positive
 * @param references the paths it refers to, sorted and without repeats (normalised here)
 * @param deriver the derivation that built it, if known
 * @param sigs signatures, in order
 * @param ca the content address, as written, if it is content-addressed
 * @param extraFields other fields, in order
 */
public record NarInfo(
    StorePath storePath,
    String url,
    String compression,
    Optional<NixHash> fileHash,
    OptionalLong fileSize,
    NixHash narHash,
    long narSize,
    List<StorePath> references,
    Optional<StorePath> deriver,
    List<NixSignature> sigs,
    Optional<String> ca,
    List<Field> extraFields) {

  /**
   * The largest narinfo {@link #parse} reads, in characters (or bytes for {@link #parse(byte[])}).
   * Each reference costs about 50 bytes; the largest real narinfos (NixOS system closures with a
   * few thousand references) stay well under 256 KiB, so 1 MiB leaves room while bounding what a
   * hostile registry can make us hold.
   */
  public static final int MAX_LENGTH = 1 << 20;

  /** What Nix assumes when {@code Compression} is absent or empty. */
  public static final String DEFAULT_COMPRESSION = "bzip2";

  /** The content type of a narinfo in a cache. */
  public static final String CONTENT_TYPE = "text/x-nix-narinfo";

  private static final String SUBJECT = "narinfo";

  /** Names {@link #format()} writes from components; an extra field may not use them. */
  private static final Set<String> KNOWN =
      Set.of(
          "StorePath",
          "URL",
          "Compression",
          "FileHash",
          "FileSize",
          "NarHash",
          "NarSize",
          "References",
          "Deriver",
          "Sig",
          "CA");

  /** A field kept as read because oranc does not interpret it. */
  public record Field(String name, String value) {
    public Field {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
      if (name.isEmpty() || name.indexOf(':') >= 0 || hasLineBreak(name)) {
        throw new IllegalArgumentException("bad narinfo field name '" + name + "'");
      }
      if (KNOWN.contains(name)) {
        throw new IllegalArgumentException(name + " is not an extra narinfo field");
      }
      if (hasLineBreak(value)) {
        throw new IllegalArgumentException("narinfo field " + name + " has a line break");
      }
    }
  }

  public NarInfo {
    Objects.requireNonNull(storePath, "storePath");
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(compression, "compression");
    Objects.requireNonNull(fileHash, "fileHash");
    Objects.requireNonNull(fileSize, "fileSize");
    Objects.requireNonNull(narHash, "narHash");
    Objects.requireNonNull(references, "references");
    Objects.requireNonNull(deriver, "deriver");
    Objects.requireNonNull(sigs, "sigs");
    Objects.requireNonNull(ca, "ca");
    Objects.requireNonNull(extraFields, "extraFields");
    require(!url.isEmpty() && !hasLineBreak(url), "URL must be one non-empty line", url);
    require(
        !compression.isEmpty() && !hasLineBreak(compression),
        "Compression must be one non-empty line",
        compression);
    require(fileSize.isEmpty() || fileSize.getAsLong() >= 0, "FileSize is negative", fileSize);
    require(narSize > 0, "NarSize must be positive", narSize);
    TreeSet<StorePath> sorted = new TreeSet<>(references);
    for (StorePath r : sorted) {
      require(r.storeDir().equals(storePath.storeDir()), "reference in another store", r);
    }
    references = List.copyOf(sorted);
    deriver.ifPresent(
        d -> require(d.storeDir().equals(storePath.storeDir()), "deriver in another store", d));
    sigs = List.copyOf(sigs);
    ca.ifPresent(
        c -> {
          require(!hasLineBreak(c), "CA has a line break", c);
          ContentAddress.check(c, SUBJECT + " for " + storePath, "CA");
        });
    extraFields = List.copyOf(extraFields);
  }

  private static void require(boolean ok, String problem, Object value) {
    if (!ok) {
      throw new IllegalArgumentException(problem + ": " + value);
    }
  }

  private static boolean hasLineBreak(String s) {
    return s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0;
  }

  /** A narinfo with no FileHash/FileSize, deriver, signatures, CA or extra fields. */
  public static NarInfo of(
      StorePath storePath,
      String url,
      String compression,
      NixHash narHash,
      long narSize,
      List<StorePath> references) {
    return new NarInfo(
        storePath,
        url,
        compression,
        Optional.empty(),
        OptionalLong.empty(),
        narHash,
        narSize,
        references,
        Optional.empty(),
        List.of(),
        Optional.empty(),
        List.of());
  }

  public NarInfo withFile(NixHash fileHash, long fileSize) {
    return new NarInfo(
        storePath,
        url,
        compression,
        Optional.of(fileHash),
        OptionalLong.of(fileSize),
        narHash,
        narSize,
        references,
        deriver,
        sigs,
        ca,
        extraFields);
  }

  public NarInfo withDeriver(Optional<StorePath> deriver) {
    return new NarInfo(
        storePath,
        url,
        compression,
        fileHash,
        fileSize,
        narHash,
        narSize,
        references,
        deriver,
        sigs,
        ca,
        extraFields);
  }

  public NarInfo withSigs(List<NixSignature> sigs) {
    return new NarInfo(
        storePath,
        url,
        compression,
        fileHash,
        fileSize,
        narHash,
        narSize,
        references,
        deriver,
        sigs,
        ca,
        extraFields);
  }

  public NarInfo withCa(Optional<String> ca) {
    return new NarInfo(
        storePath,
        url,
        compression,
        fileHash,
        fileSize,
        narHash,
        narSize,
        references,
        deriver,
        sigs,
        ca,
        extraFields);
  }

  /** What a signature over this path signs. */
  public Fingerprint fingerprint() {
    return new Fingerprint(storePath, narHash, narSize, references);
  }

  /** Parses a narinfo of the default store {@code /nix/store}. */
  public static NarInfo parse(String text) {
    return parse(StorePath.DEFAULT_STORE_DIR, text);
  }

  /**
   * Parses narinfo bytes of the default store {@code /nix/store}; see {@link #parse(String,
   * byte[])}.
   */
  public static NarInfo parse(byte[] utf8) {
    return parse(StorePath.DEFAULT_STORE_DIR, utf8);
  }

  /**
   * Parses narinfo bytes, which must be UTF-8 (Nix writes ASCII) and at most {@link #MAX_LENGTH}
   * long; the length is checked before anything is decoded.
   */
  public static NarInfo parse(String storeDir, byte[] utf8) {
    if (utf8.length > MAX_LENGTH) {
      throw tooLong(utf8.length, "bytes");
    }
    return parse(storeDir, StrictUtf8.decode(utf8, SUBJECT, "is not UTF-8 text"));
  }

  /**
   * Parses {@code text} as Nix 2.8 does, with the stricter points listed in the class comment.
   *
   * @param storeDir the store the narinfo is for: StorePath must be directly in it
   * @throws FormatException whose location names the line, and whose problem names the field
   */
  public static NarInfo parse(String storeDir, String text) {
    Objects.requireNonNull(text, "text");
    if (text.length() > MAX_LENGTH) {
      throw tooLong(text.length(), "characters");
    }
    String dir = StorePath.canonicalStoreDir(storeDir);
    Reader r = new Reader(dir);
    int pos = 0;
    int lineNo = 0;
    while (pos < text.length()) {
      lineNo++;
      int eol = text.indexOf('\n', pos);
      if (eol < 0) {
        throw new FormatException(
            SUBJECT, "line " + lineNo, "the last line does not end with a newline (truncated?)");
      }
      r.line(lineNo, text.substring(pos, eol));
      pos = eol + 1;
    }
    return r.finish();
  }

  private static FormatException tooLong(int length, String unit) {
    return new FormatException(
        SUBJECT, "is " + length + " " + unit + " long, more than the limit of " + MAX_LENGTH);
  }

  /** The state of one parse: what has been read so far and on which line. */
  private static final class Reader {
    private final String storeDir;
    private final Map<String, Integer> seenOn = new HashMap<>();
    private StorePath storePath;
    private String url;
    private String compression;
    private NixHash fileHash;
    private Long fileSize;
    private NixHash narHash;
    private Long narSize;
    private final List<StorePath> references = new ArrayList<>();
    private StorePath deriver;
    private final List<NixSignature> sigs = new ArrayList<>();
    private String ca;
    private final List<Field> extra = new ArrayList<>();

    Reader(String storeDir) {
      this.storeDir = storeDir;
    }

    void line(int lineNo, String line) {
      String at = "line " + lineNo;
      if (line.isEmpty()) {
        throw new FormatException(SUBJECT, at, "empty line");
      }
      int cr = line.indexOf('\r');
      if (cr >= 0) {
        throw new FormatException(
            SUBJECT, at, "carriage return at column " + (cr + 1) + "; lines end with \\n only");
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new FormatException(
            SUBJECT,
            at,
            colon == 0 ? "no field name before ':'" : "expected 'Name: value', found no ':'");
      }
      String name = line.substring(0, colon);
      String value;
      if (colon == line.length() - 1) {
        value = "";
      } else if (line.charAt(colon + 1) == ' ') {
        value = line.substring(colon + 2);
      } else {
        throw new FormatException(SUBJECT, at, name + ": expected a space after ':'");
      }
      // Unknown fields may repeat: Nix ignores them, and we keep each.
      if (KNOWN.contains(name) && !name.equals("Sig") && seenOn.putIfAbsent(name, lineNo) != null) {
        throw new FormatException(
            SUBJECT, at, name + " appears twice (first on line " + seenOn.get(name) + ")");
      }
      try {
        field(at, name, value);
      } catch (FormatException e) {
        if (e.subject().equals(SUBJECT)) {
          throw e;
        }
        // A value's own parser names the value; say which field and line it came from.
        throw new FormatException(SUBJECT, at, name + ": " + e.getMessage());
      }
    }

    private void field(String at, String name, String value) {
      switch (name) {
        case "StorePath" -> storePath = StorePath.parse(storeDir, value);
        case "URL" -> url = value;
        case "Compression" -> compression = value;
        case "FileHash" -> fileHash = NixHash.parse(value);
        case "FileSize" -> fileSize = number(at, name, value);
        case "NarHash" -> narHash = NixHash.parse(value);
        case "NarSize" -> {
          narSize = number(at, name, value);
          if (narSize == 0) {
            throw new FormatException(SUBJECT, at, "NarSize is 0; Nix requires the NAR's size");
          }
        }
        case "References" -> {
          for (String ref : value.split(" ")) {
            if (!ref.isEmpty()) {
              references.add(StorePath.parseBaseName(storeDir, ref));
            }
          }
        }
        case "Deriver" -> {
          if (!value.equals("unknown-deriver")) {
            deriver = StorePath.parseBaseName(storeDir, value);
          }
        }
        case "Sig" -> sigs.add(NixSignature.parse(value));
        case "CA" -> {
          if (!value.isEmpty()) {
            ContentAddress.check(value, SUBJECT, at);
            ca = value;
          }
        }
        default -> extra.add(new Field(name, value));
      }
    }

    private static long number(String at, String name, String value) {
      boolean digits = !value.isEmpty() && value.length() <= 19;
      for (int i = 0; digits && i < value.length(); i++) {
        digits = value.charAt(i) >= '0' && value.charAt(i) <= '9';
      }
      if (digits) {
        try {
          return Long.parseLong(value);
        } catch (NumberFormatException e) {
          // 19 digits above Long.MAX_VALUE; reported below
        }
      }
      throw new FormatException(
          SUBJECT,
          at,
          name
              + " is not a number of bytes: '"
              + (value.length() <= 40 ? value : value.substring(0, 40) + "…")
              + "'");
    }

    NarInfo finish() {
      for (String required : List.of("StorePath", "URL", "NarHash", "NarSize")) {
        if (!seenOn.containsKey(required)) {
          throw new FormatException(SUBJECT, "missing required field " + required);
        }
      }
      if (url.isEmpty()) {
        throw new FormatException(SUBJECT, "line " + seenOn.get("URL"), "URL is empty");
      }
      String c = compression == null || compression.isEmpty() ? DEFAULT_COMPRESSION : compression;
      return new NarInfo(
          storePath,
          url,
          c,
          Optional.ofNullable(fileHash),
          fileSize == null ? OptionalLong.empty() : OptionalLong.of(fileSize),
          narHash,
          narSize,
          references,
          Optional.ofNullable(deriver),
          sigs,
          Optional.ofNullable(ca),
          extra);
    }
  }

  /** The narinfo text, fields in SPEC §4's order; byte-for-byte what Nix writes. */
  public String format() {
    StringBuilder sb = new StringBuilder(512 + 56 * references.size() + 110 * sigs.size());
    sb.append("StorePath: ").append(storePath).append('\n');
    sb.append("URL: ").append(url).append('\n');
    sb.append("Compression: ").append(compression).append('\n');
    fileHash.ifPresent(h -> sb.append("FileHash: ").append(h.toNix32()).append('\n'));
    fileSize.ifPresent(n -> sb.append("FileSize: ").append(n).append('\n'));
    sb.append("NarHash: ").append(narHash.toNix32()).append('\n');
    sb.append("NarSize: ").append(narSize).append('\n');
    sb.append("References: ");
    for (int i = 0; i < references.size(); i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(references.get(i).baseName());
    }
    sb.append('\n');
    deriver.ifPresent(d -> sb.append("Deriver: ").append(d.baseName()).append('\n'));
    for (NixSignature sig : sigs) {
      sb.append("Sig: ").append(sig).append('\n');
    }
    ca.ifPresent(c -> sb.append("CA: ").append(c).append('\n'));
    for (Field f : extraFields) {
      sb.append(f.name()).append(": ").append(f.value()).append('\n');
    }
    return sb.toString();
  }

  /** {@link #format()} as UTF-8 bytes, the body to upload. */
  public byte[] formatBytes() {
    return format().getBytes(StandardCharsets.UTF_8);
  }
}
