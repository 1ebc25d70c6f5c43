package dev.oranc.common.nix.nar;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A filesystem tree as a test describes it. It can be made on disk, encoded to a NAR by a reference
 * encoder that shares no code with {@link NarWriter}, and listed as the events {@link
 * RecordingVisitor} records for it.
 */
sealed interface NarTree {

  /** Entries in ascending order of their names' UTF-8 bytes, as a NAR has them. */
  Comparator<String> BYTE_ORDER =
      (a, b) ->
          Arrays.compareUnsigned(
              a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  /**
   * A regular file; {@code mode} is its permission bits, of which only the owner's execute bit
   * reaches the NAR.
   */
  record File(byte[] contents, int mode) implements NarTree {
    boolean executable() {
      return (mode & 0100) != 0;
    }
  }

  record Link(String target) implements NarTree {}

  /** A directory; its map's order is the order entries are created in, not the NAR's. */
  record Dir(Map<String, NarTree> entries) implements NarTree {}

  static File file(String contents) {
    return new File(contents.getBytes(StandardCharsets.UTF_8), 0644);
  }

  static File file(byte[] contents) {
    return new File(contents, 0644);
  }

  static File executable(String contents) {
    return new File(contents.getBytes(StandardCharsets.UTF_8), 0755);
  }

  static Link link(String target) {
    return new Link(target);
  }

  /** A directory of alternating names and nodes. */
  static Dir dir(Object... namesAndNodes) {
    Map<String, NarTree> entries = new LinkedHashMap<>();
    for (int i = 0; i < namesAndNodes.length; i += 2) {
      entries.put((String) namesAndNodes[i], (NarTree) namesAndNodes[i + 1]);
    }
    return new Dir(entries);
  }

  /** The tree of one case of {@code vectors/nar.json}. */
  @SuppressWarnings("unchecked")
  static NarTree ofVector(Map<String, Object> vector) {
    List<Map<String, Object>> entries = (List<Map<String, Object>>) vector.get("entries");
    Map<String, Object> root = entries.get(0);
    if (!root.get("path").equals("")) {
      throw new IllegalArgumentException("the first entry is not the root: " + root);
    }
    NarTree tree = ofVectorEntry(root);
    for (Map<String, Object> entry : entries.subList(1, entries.size())) {
      String[] names = ((String) entry.get("path")).split("/");
      Dir parent = (Dir) tree;
      for (int i = 0; i < names.length - 1; i++) {
        parent = (Dir) parent.entries().get(names[i]);
      }
      parent.entries().put(names[names.length - 1], ofVectorEntry(entry));
    }
    return tree;
  }

  private static NarTree ofVectorEntry(Map<String, Object> entry) {
    switch ((String) entry.get("type")) {
      case "regular":
        byte[] contents = ((String) entry.get("contents")).getBytes(StandardCharsets.UTF_8);
        return new File(contents, Boolean.TRUE.equals(entry.get("executable")) ? 0755 : 0644);
      case "symlink":
        return new Link((String) entry.get("target"));
      case "directory":
        return new Dir(new LinkedHashMap<>());
      default:
        throw new IllegalArgumentException("unknown type in " + entry);
    }
  }

  static byte[] base64(Map<String, Object> vector) {
    return Base64.getDecoder().decode((String) vector.get("nar_base64"));
  }

  /** Makes the tree at {@code path}, which must not exist. */
  default void create(Path path) throws IOException {
    if (this instanceof File f) {
      Files.write(path, f.contents());
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(rwx(f.mode())));
    } else if (this instanceof Link l) {
      Files.createSymbolicLink(path, Path.of(l.target()));
    } else {
      Files.createDirectory(path);
      for (Map.Entry<String, NarTree> e : ((Dir) this).entries().entrySet()) {
        e.getValue().create(path.resolve(e.getKey()));
      }
    }
  }

  private static String rwx(int mode) {
    StringBuilder s = new StringBuilder();
    for (int shift = 6; shift >= 0; shift -= 3) {
      int bits = mode >> shift;
      s.append((bits & 4) != 0 ? 'r' : '-')
          .append((bits & 2) != 0 ? 'w' : '-')
          .append((bits & 1) != 0 ? 'x' : '-');
    }
    return s.toString();
  }

  /** The NAR of this tree, by the reference encoder. */
  default byte[] nar() {
    NarBytes out = NarBytes.nar();
    encode(out);
    return out.toByteArray();
  }

  private void encode(NarBytes out) {
    if (this instanceof File f) {
      out.regular(f.executable(), f.contents());
    } else if (this instanceof Link l) {
      out.symlink(l.target());
    } else {
      out.str("(", "type", "directory");
      for (String name : sortedNames((Dir) this)) {
        out.entry(name);
        ((Dir) this).entries().get(name).encode(out);
        out.str(")");
      }
      out.str(")");
    }
  }

  private static List<String> sortedNames(Dir dir) {
    List<String> names = new ArrayList<>(dir.entries().keySet());
    names.sort(BYTE_ORDER);
    return names;
  }

  /** What {@link RecordingVisitor} records for the NAR of this tree. */
  default List<String> events() {
    List<String> events = new ArrayList<>();
    events("", events);
    return events;
  }

  private void events(String name, List<String> events) {
    if (this instanceof File f) {
      events.add(RecordingVisitor.regular(name, f.executable(), f.contents()));
    } else if (this instanceof Link l) {
      events.add(RecordingVisitor.symlink(name, l.target()));
    } else {
      events.add(RecordingVisitor.directory(name));
      for (String child : sortedNames((Dir) this)) {
        ((Dir) this).entries().get(child).events(child, events);
      }
      events.add(RecordingVisitor.DIRECTORY_END);
    }
  }
}
