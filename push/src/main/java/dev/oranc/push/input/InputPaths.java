package dev.oranc.push.input;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.StrictUtf8;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PushException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The store paths named on standard input, one per line, as Nix's {@code followLinksToStorePath}
 * reads a path argument: surrounding whitespace and blank lines are ignored; a line outside the
 * store that is a symbolic link (such as {@code ./result}) is followed, relative targets against
 * the link's directory, until it lies in the store; a path inside a store path stands for that
 * store path. Repeats are merged, first occurrence first.
 */
public final class InputPaths {

  /** The kernel's own limit on links followed in one lookup; a longer chain is a loop. */
  private static final int MAX_LINKS = 40;

  private InputPaths() {}

  /**
   * Reads every line of {@code in} (UTF-8) and resolves it against {@code workingDirectory}.
   *
   * @throws PushException.BadInput naming the first line that is not a store path
   */
  public static List<StorePath> read(InputStream in, String storeDir, Path workingDirectory)
      throws IOException {
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StrictUtf8.decoder()));
    List<String> lines = new ArrayList<>();
    try {
      String line;
      while ((line = reader.readLine()) != null) {
        lines.add(line);
      }
    } catch (CharacterCodingException e) {
      throw new PushException.BadInput(
          "standard input, line " + (lines.size() + 1) + ": is not UTF-8 text");
    }
    return resolve(lines, storeDir, workingDirectory);
  }

  /** {@link #read} for lines already read. */
  public static List<StorePath> resolve(
      List<String> lines, String storeDir, Path workingDirectory) {
    String dir = StorePath.canonicalStoreDir(storeDir);
    Set<StorePath> paths = new LinkedHashSet<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (!line.isEmpty()) {
        paths.add(resolveLine(i + 1, line, dir, workingDirectory));
      }
    }
    return List.copyOf(paths);
  }

  private static StorePath resolveLine(int lineNo, String line, String storeDir, Path cwd) {
    String where = "standard input, line " + lineNo + ": '" + shorten(line) + "'";
    Path path;
    try {
      path = cwd.resolve(line).normalize();
    } catch (InvalidPathException e) {
      throw new PushException.BadInput(where + " is not a path: " + e.getReason());
    }
    for (int links = 0; ; links++) {
      if (inStore(path, storeDir)) {
        try {
          return StorePath.parseContaining(storeDir, path.toString());
        } catch (FormatException e) {
          throw new PushException.BadInput(where + " is not a store path: " + e.getMessage(), e);
        }
      }
      if (links == MAX_LINKS) {
        throw new PushException.BadInput(
            where + ": more than " + MAX_LINKS + " symbolic links followed (a loop?)");
      }
      if (!Files.isSymbolicLink(path)) {
        String why =
            Files.exists(path, LinkOption.NOFOLLOW_LINKS)
                ? " is not in the Nix store " + storeDir + " nor a symbolic link into it"
                : (path.toString().equals(line) ? "" : " (" + path + ")")
                    + " does not exist and is not in the Nix store "
                    + storeDir;
        throw new PushException.BadInput(where + why);
      }
      try {
        Path target = Files.readSymbolicLink(path);
        Path parent = path.getParent();
        path = (parent == null ? path.getRoot() : parent).resolve(target).normalize();
      } catch (IOException e) {
        throw new PushException.BadInput(where + ": cannot read the link " + path + ": " + e, e);
      }
    }
  }

  private static boolean inStore(Path path, String storeDir) {
    String text = path.toString();
    return text.startsWith(storeDir + "/") && text.length() > storeDir.length() + 1;
  }

  private static String shorten(String line) {
    return line.length() <= 300 ? line : line.substring(0, 300) + "…";
  }
}
