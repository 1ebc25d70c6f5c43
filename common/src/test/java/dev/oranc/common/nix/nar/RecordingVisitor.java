package dev.oranc.common.nix.nar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Records what {@link NarReader} reports as one line per event, reading every file's contents in
 * odd-sized chunks. Given the NAR's bytes, it also checks that each file's contents offset points
 * at its contents.
 */
final class RecordingVisitor implements NarVisitor {

  static final String DIRECTORY_END = "end";

  /** Contents up to this long are recorded in hex, longer ones by their SHA-256. */
  private static final int SHOWN = 32;

  private final List<String> events = new ArrayList<>();
  private final byte[] nar;

  RecordingVisitor() {
    this(null);
  }

  RecordingVisitor(byte[] nar) {
    this.nar = nar;
  }

  List<String> events() {
    return events;
  }

  @Override
  public void directory(byte[] name) {
    events.add(directory(text(name)));
  }

  @Override
  public void directoryEnd() {
    events.add(DIRECTORY_END);
  }

  @Override
  public void regular(
      byte[] name, boolean executable, long size, long contentsOffset, InputStream contents)
      throws IOException {
    ByteArrayOutputStream read = new ByteArrayOutputStream();
    byte[] chunk = new byte[1000];
    int n;
    while ((n = contents.read(chunk, 3, 997)) >= 0) {
      read.write(chunk, 3, n);
    }
    assertEquals(-1, contents.read(), "a second end of the contents");
    byte[] bytes = read.toByteArray();
    assertEquals(size, bytes.length, "size announced and bytes read");
    if (nar != null) {
      assertArrayEquals(
          bytes,
          Arrays.copyOfRange(nar, (int) contentsOffset, (int) contentsOffset + bytes.length),
          "the NAR's bytes at the contents offset " + contentsOffset);
    }
    events.add(regular(text(name), executable, bytes));
  }

  @Override
  public void symlink(byte[] name, byte[] target) {
    events.add(symlink(text(name), text(target)));
  }

  static String directory(String name) {
    return "directory '" + name + "'";
  }

  static String regular(String name, boolean executable, byte[] contents) {
    return "regular '"
        + name
        + "'"
        + (executable ? " executable" : "")
        + " size "
        + contents.length
        + " "
        + describe(contents);
  }

  static String symlink(String name, String target) {
    return "symlink '" + name + "' -> '" + target + "'";
  }

  private static String describe(byte[] contents) {
    if (contents.length <= SHOWN) {
      return "hex " + HexFormat.of().formatHex(contents);
    }
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      return "sha256 " + HexFormat.of().formatHex(sha256.digest(contents));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
