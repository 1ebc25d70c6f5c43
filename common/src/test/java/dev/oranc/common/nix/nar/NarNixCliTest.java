package dev.oranc.common.nix.nar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Our NARs against {@code nix-store --dump} and {@code --restore} of Nix 2.8. */
class NarNixCliTest {

  @TempDir Path dir;

  static List<Arguments> cases() {
    return NarTreeCases.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void ourBytesAreNixsBytes(String name, NarTree tree) throws Exception {
    Path root = dir.resolve("root");
    tree.create(root);

    byte[] ours = write(root);

    assertArrayEquals(NixNar.dump(root, dir), ours);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void nixRestoresOurNarAndWeReadItsDump(String name, NarTree tree) throws Exception {
    byte[] nar = tree.nar();
    Path restoredByNix = dir.resolve("by-nix");
    NixNar.restore(nar, restoredByNix, dir);
    assertArrayEquals(nar, write(restoredByNix));

    RecordingVisitor visitor = new RecordingVisitor(nar);
    NarReader.read(new ByteArrayInputStream(NixNar.dump(restoredByNix, dir)), visitor);
    assertEquals(tree.events(), visitor.events());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void whatOurReaderRestoresNixDumpsAsTheSameNar(String name, NarTree tree) throws Exception {
    Path root = dir.resolve("root");
    tree.create(root);
    byte[] nar = NixNar.dump(root, dir);

    Path restored = dir.resolve("restored");
    assertEquals(
        nar.length, NarReader.read(new ByteArrayInputStream(nar), new TreeRestorer(restored)));

    assertArrayEquals(nar, NixNar.dump(restored, dir));
  }

  @Test
  void replacementCharacterNameThatIsRealMatchesNix() throws Exception {
    // Java shows both a real U+FFFD and a byte that is not UTF-8 as U+FFFD; this one is real.
    Path root = dir.resolve("root");
    Files.createDirectory(root);
    NixNar.sh(
        root,
        "printf a > \"$(printf '\\357\\277\\275')\""
            + " && printf b > \"$(printf 'x\\357\\277\\275y')\"");
    assertArrayEquals(NixNar.dump(root, dir), write(root));
  }

  /**
   * 64 MiB and 3 bytes, mostly a hole with markers at odd offsets, streamed in buffer-sized writes
   * and hashed on the way, against the hash of Nix's NAR.
   */
  @Test
  void largeFileStreamsToNixsBytes() throws Exception {
    Path file = dir.resolve("large");
    long size = 64L * 1024 * 1024 + 3;
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long at = 12_345; at < size; at += 3_333_331) {
        channel.write(ByteBuffer.wrap(("marker at " + at).getBytes()), at);
      }
      channel.write(ByteBuffer.wrap(new byte[] {1}), size - 1);
    }
    assertEquals(size, Files.size(file));

    MessageDigest ours = MessageDigest.getInstance("SHA-256");
    long[] largestWrite = {0};
    OutputStream sink =
        new OutputStream() {
          @Override
          public void write(int b) {
            largestWrite[0] = Math.max(largestWrite[0], 1);
          }

          @Override
          public void write(byte[] b, int off, int len) {
            largestWrite[0] = Math.max(largestWrite[0], len);
          }
        };
    long written;
    try (DigestOutputStream out = new DigestOutputStream(sink, ours)) {
      written = new NarWriter().write(file, out);
    }

    MessageDigest nix = MessageDigest.getInstance("SHA-256");
    Path nixNar = NixNar.dumpToFile(file, dir);
    long nixSize;
    try (InputStream in = Files.newInputStream(nixNar)) {
      nixSize = in.transferTo(new DigestOutputStream(OutputStream.nullOutputStream(), nix));
    }
    assertEquals(nixSize, written);
    assertEquals(written, NarWriter.narSize(file));
    assertEquals(24 + 64 + 8 + size + 5 + 16, written);
    assertEquals(HexFormat.of().formatHex(nix.digest()), HexFormat.of().formatHex(ours.digest()));
    assertTrue(
        largestWrite[0] <= NarWriter.DEFAULT_BUFFER_SIZE, "largest write " + largestWrite[0]);

    // The reader validates it in one pass too.
    try (InputStream in = Files.newInputStream(nixNar)) {
      assertEquals(written, NarReader.validate(in));
    }
  }

  /** Rules Nix 2.8's {@code nix-store --restore} enforces as well; its error, then ours. */
  static List<Arguments> rulesNixShares() {
    return List.of(
        Arguments.of(
            "bad magic",
            new NarBytes().str("nix-archive-2").regular("x").toByteArray(),
            "input doesn't look like a Nix archive",
            "bad magic"),
        Arguments.of(
            "non-zero padding",
            NarBytes.nar()
                .u64(1)
                .raw("(")
                .raw(new byte[] {0, 0, 0, 5, 0, 0, 0})
                .str("type", "regular", "contents", "", ")")
                .toByteArray(),
            "non-zero padding",
            "non-zero padding"),
        Arguments.of("'..'", dirWith(".."), "invalid file name '..'", "is not allowed"),
        Arguments.of("'/'", dirWith("a/b"), "invalid file name 'a/b'", "contains '/'"),
        Arguments.of("empty name", dirWith(""), "invalid file name ''", "empty entry name"),
        Arguments.of("NUL", dirWith("a\0b"), "invalid file name", "contains a NUL byte"),
        Arguments.of(
            "executable marker with a value",
            NarBytes.nar()
                .str("(", "type", "regular", "executable", "yes", "contents", "", ")")
                .toByteArray(),
            "executable marker has non-empty value",
            "expected '' after 'executable'"),
        Arguments.of(
            "unknown type",
            NarBytes.nar().str("(", "type", "fifo", ")").toByteArray(),
            "unknown file type fifo",
            "as the node type, found 'fifo'"),
        Arguments.of(
            "truncated",
            Arrays.copyOf(NarBytes.nar().regular("hello").toByteArray(), 100),
            "unexpected end-of-file",
            "truncated"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rulesNixShares")
  void nixRejectsWhatWeReject(String name, byte[] nar, String nixSays, String weSay)
      throws Exception {
    String nixError = NixNar.restoreError(nar, dir.resolve("out"), dir);
    assertTrue(nixError != null && nixError.contains(nixSays), "Nix said: " + nixError);
    FormatException e =
        assertThrows(
            FormatException.class, () -> NarReader.validate(new ByteArrayInputStream(nar)));
    assertTrue(e.getMessage().contains(weSay), e.getMessage());
  }

  /**
   * Where we are stricter than Nix 2.8, whose parser takes a node's fields in any order, does not
   * check the order of entries (later versions do) and stops reading after the root node. Nix never
   * writes such NARs, so a cache never needs to accept them.
   */
  static List<Arguments> rulesOnlyWeHave() {
    return List.of(
        Arguments.of(
            "entries out of order",
            NarBytes.nar()
                .str("(", "type", "directory")
                .entry("b")
                .regular("")
                .str(")")
                .entry("a")
                .regular("")
                .str(")")
                .str(")")
                .toByteArray(),
            "entry name 'a' follows 'b'"),
        Arguments.of(
            "trailing bytes", NarBytes.nar().regular("x").zeros(8).toByteArray(), "trailing bytes"),
        Arguments.of(
            "executable after contents",
            NarBytes.nar()
                .str("(", "type", "regular", "contents", "hi", "executable", "", ")")
                .toByteArray(),
            "expected ')' after the file contents, found 'executable'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rulesOnlyWeHave")
  void stricterThanNix(String name, byte[] nar, String weSay) throws Exception {
    assertNull(NixNar.restoreError(nar, dir.resolve("out"), dir));
    FormatException e =
        assertThrows(
            FormatException.class, () -> NarReader.validate(new ByteArrayInputStream(nar)));
    assertTrue(e.getMessage().contains(weSay), e.getMessage());
  }

  private static byte[] dirWith(String name) {
    return NarBytes.nar()
        .str("(", "type", "directory")
        .entry(name)
        .regular("x")
        .str(")", ")")
        .toByteArray();
  }

  private static byte[] write(Path root) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new NarWriter().write(root, out);
    return out.toByteArray();
  }
}
