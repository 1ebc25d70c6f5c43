package dev.oranc.common.nix.nar;

import dev.oranc.common.error.FormatException;
import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.UnsupportedCharsetException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * The bytes of a file name or symlink target as the filesystem holds them, which is what a NAR
 * records.
 *
 * <p>Java offers no public way to read those bytes. On Linux a {@link Path} from a directory
 * listing or {@code readlink} keeps them internally, but {@link Path#toString()} decodes them with
 * the charset of {@code sun.jnu.encoding} (UTF-8 under a UTF-8 locale such as {@code C.UTF-8};
 * US-ASCII under the POSIX locale), replacing every malformed or unmappable sequence with U+FFFD,
 * as {@link String#String(byte[], Charset)} does. So encoding {@code toString()} again with that
 * charset gives back the original bytes exactly when the decoded text has no U+FFFD, and only a
 * name containing U+FFFD needs a closer look: it is faithful iff a path built from its text equals
 * the original ({@code UnixPath.equals} compares the raw bytes). A name that is not faithful (for
 * example the byte {@code 0xff} on a UTF-8 system) is refused rather than written wrongly.
 *
 * <p>Building a path from text also normalises it (repeated and trailing slashes go), so a symlink
 * target that holds a real U+FFFD <em>and</em> repeated or trailing slashes fails the check
 * although it is faithful. Java offers no way around that ({@code UnixPath.getName} miscounts on
 * unnormalised bytes), and refusing such a rare target is better than guessing.
 */
final class FileNameBytes {

  /** The charset the JDK uses for file names, resolved as {@code sun.nio.fs.Util} does. */
  static final Charset CHARSET = fileNameCharset();

  private static final char REPLACEMENT = '\uFFFD';

  private FileNameBytes() {}

  /**
   * The bytes of {@code entry}'s last name element.
   *
   * @throws FormatException if Java cannot tell the name's bytes
   */
  static byte[] name(Path entry) {
    Path name = entry.getFileName();
    String text = name.toString();
    if (text.indexOf(REPLACEMENT) >= 0 && !faithful(name, text)) {
      throw notRepresentable(entry, "its name");
    }
    return text.getBytes(CHARSET);
  }

  /**
   * The bytes of {@code target}, which {@code Files.readSymbolicLink(link)} returned.
   *
   * @throws FormatException if Java cannot tell the target's bytes
   */
  static byte[] target(Path link, Path target) {
    String text = target.toString();
    if (text.indexOf(REPLACEMENT) >= 0 && !faithful(target, text)) {
      throw notRepresentable(link, "its symlink target");
    }
    return text.getBytes(CHARSET);
  }

  private static boolean faithful(Path path, String text) {
    try {
      return path.equals(path.getFileSystem().getPath(text));
    } catch (InvalidPathException e) {
      // U+FFFD is unmappable in the file-name charset (e.g. US-ASCII), so the name cannot be it.
      return false;
    }
  }

  private static FormatException notRepresentable(Path path, String what) {
    return new FormatException(
        "file '" + path + "'",
        what
            + " is not valid "
            + CHARSET
            + " (sun.jnu.encoding), so Java cannot read its exact"
            + " bytes and the NAR would be wrong; rename it or run under a locale whose charset"
            + " covers it");
  }

  private static Charset fileNameCharset() {
    String name = System.getProperty("sun.jnu.encoding");
    if (name != null) {
      try {
        return Charset.forName(name);
      } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
        // fall through, as the JDK does
      }
    }
    return Charset.defaultCharset();
  }
}
