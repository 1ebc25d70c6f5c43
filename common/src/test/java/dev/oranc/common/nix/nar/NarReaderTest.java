package dev.oranc.common.nix.nar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.NixVectors;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every rule of the reader, each with a crafted NAR; and what the visitor sees. */
class NarReaderTest {

  // ---- magic, strings and padding ----

  @Test
  void badMagic() {
    byte[] nar = new NarBytes().str("nix-archive-2").regular("x").toByteArray();
    assertRejected(nar, 0, "bad magic: expected 'nix-archive-1', found 'nix-archive-2'");
  }

  @Test
  void compressedNarIsNotANar() {
    // A zstd frame starts 28 b5 2f fd: read as a string length, far too long for the magic.
    byte[] zstd = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0x24, 0x78, 0x45, 0x03, 0, 0, 0, 0};
    assertRejected(
        zstd, 0, "bad magic: expected 'nix-archive-1', found a string of 235726655768737064 bytes");
  }

  @Test
  void emptyInput() {
    assertRejected(new byte[0], 0, "truncated: the input ends inside a string length");
  }

  @Test
  void nonZeroPaddingAfterAToken() {
    NarBytes nar = NarBytes.nar();
    int at = nar.size() + 8 + 1 + 3;
    nar.u64(1).raw("(").raw(new byte[] {0, 0, 0, 5, 0, 0, 0});
    assertRejected(nar.toByteArray(), at, "non-zero padding byte 0x05 after '('");
  }

  @Test
  void nonZeroPaddingAfterContents() {
    NarBytes nar = NarBytes.nar().str("(", "type", "regular", "contents").u64(6).raw("hello\n");
    int at = nar.size() + 1;
    nar.raw(new byte[] {0, (byte) 0x80}).str(")");
    assertRejected(nar.toByteArray(), at, "non-zero padding byte 0x80 after file contents");
  }

  @Test
  void nonZeroPaddingAfterAName() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory", "entry", "(", "name").u64(3);
    int at = nar.size() + 3 + 4;
    nar.raw("abc").raw(new byte[] {0, 0, 0, 0, 1}).str("node").regular("x").str(")", ")");
    assertRejected(nar.toByteArray(), at, "non-zero padding byte 0x01 after an entry name");
  }

  @Test
  void nonZeroPaddingAfterATarget() {
    NarBytes nar = NarBytes.nar().str("(", "type", "symlink", "target").u64(1).raw("t");
    int at = nar.size() + 5;
    nar.raw(new byte[] {0, 0, 0, 0, 0, (byte) 0xff, 0}).str(")");
    assertRejected(nar.toByteArray(), at, "non-zero padding byte 0xff after a symlink target");
  }

  @Test
  void overlongStringWhereATokenBelongs() {
    NarBytes nar = NarBytes.nar();
    int at = nar.size();
    nar.u64(-1).raw("(");
    assertRejected(
        nar.toByteArray(),
        at,
        "expected '(' to open a node, found a string of 18446744073709551615 bytes");
  }

  @Test
  void tokensAreQuotedWithEscapes() {
    NarBytes nar = NarBytes.nar();
    int at = nar.size();
    nar.str(new byte[] {'(', 0x01, (byte) 0xff, '\''});
    assertRejected(nar.toByteArray(), at, "expected '(' to open a node, found '(\\x01\\xff\\x27'");
  }

  // ---- token order ----

  @Test
  void typeMissing() {
    NarBytes nar = NarBytes.nar().str("(");
    int at = nar.size();
    nar.str("regular", "contents").str("").str(")");
    assertRejected(nar.toByteArray(), at, "expected 'type', found 'regular'");
  }

  @Test
  void unknownNodeType() {
    NarBytes nar = NarBytes.nar().str("(", "type");
    int at = nar.size();
    nar.str("fifo", ")");
    assertRejected(
        nar.toByteArray(),
        at,
        "expected 'regular', 'symlink' or 'directory' as the node type, found 'fifo'");
  }

  @Test
  void unknownFieldInARegularFile() {
    NarBytes nar = NarBytes.nar().str("(", "type", "regular");
    int at = nar.size();
    nar.str("size").u64(0).str(")");
    assertRejected(
        nar.toByteArray(),
        at,
        "expected 'executable' or 'contents' in a regular file, found 'size'");
  }

  @Test
  void executableAfterContents() {
    NarBytes nar = NarBytes.nar().str("(", "type", "regular", "contents", "hi");
    int at = nar.size();
    nar.str("executable", "", ")");
    assertRejected(
        nar.toByteArray(), at, "expected ')' after the file contents, found 'executable'");
  }

  @Test
  void executableMarkerWithAValue() {
    NarBytes nar = NarBytes.nar().str("(", "type", "regular", "executable");
    int at = nar.size();
    nar.str("yes", "contents", "hi", ")");
    assertRejected(nar.toByteArray(), at, "expected '' after 'executable', found 'yes'");
  }

  @Test
  void executableTwice() {
    NarBytes nar = NarBytes.nar().str("(", "type", "regular", "executable", "");
    int at = nar.size();
    nar.str("executable", "", "contents", "hi", ")");
    assertRejected(
        nar.toByteArray(),
        at,
        "expected 'contents' after the executable marker, found 'executable'");
  }

  @Test
  void symlinkWithTwoTargets() {
    NarBytes nar = NarBytes.nar().str("(", "type", "symlink", "target", "a");
    int at = nar.size();
    nar.str("target", "b", ")");
    assertRejected(nar.toByteArray(), at, "expected ')' after the symlink target, found 'target'");
  }

  @Test
  void unknownTagInADirectory() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory");
    int at = nar.size();
    nar.str("entri", ")");
    assertRejected(nar.toByteArray(), at, "expected 'entry' or ')' in a directory, found 'entri'");
  }

  @Test
  void entryWithoutItsParenthesis() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory", "entry");
    int at = nar.size();
    nar.str("name", "a", "node").regular("x").str(")", ")");
    assertRejected(nar.toByteArray(), at, "expected '(' after 'entry', found 'name'");
  }

  @Test
  void entryWithoutName() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory", "entry", "(");
    int at = nar.size();
    nar.str("node").regular("x").str(")", ")");
    assertRejected(nar.toByteArray(), at, "expected 'name' in an entry, found 'node'");
  }

  @Test
  void entryWithoutNode() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory", "entry", "(", "name", "a");
    int at = nar.size();
    nar.regular("x").str(")", ")");
    assertRejected(nar.toByteArray(), at, "expected 'node' after the entry name, found '('");
  }

  @Test
  void entryNotClosed() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory").entry("a").regular("x");
    int at = nar.size();
    nar.entry("b").regular("y").str(")", ")");
    assertRejected(nar.toByteArray(), at, "expected ')' to close the entry, found 'entry'");
  }

  @Test
  void directoryEntryNotClosedAfterANestedDirectory() {
    NarBytes nar =
        NarBytes.nar().str("(", "type", "directory").entry("d").str("(", "type", "directory", ")");
    int at = nar.size();
    nar.str("(").str(")");
    assertRejected(nar.toByteArray(), at, "expected ')' to close the entry, found '('");
  }

  // ---- entry names ----

  @Test
  void entriesOutOfOrder() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory").entry("b").regular("").str(")");
    nar.str("entry", "(", "name");
    int at = nar.size();
    nar.str("a", "node").regular("").str(")", ")");
    assertRejected(
        nar.toByteArray(),
        at,
        "entry name 'a' follows 'b': entries must be in ascending byte-wise order");
  }

  @Test
  void entriesInUtf16OrderAreOutOfOrder() throws IOException {
    // U+1F600 (UTF-16 D83D DE00, UTF-8 F0 9F 98 80) sorts before U+FB01 (EF AC 81) only in UTF-16.
    String emoji = NarTreeCases.EMOJI;
    String ligature = NarTreeCases.LIGATURE;
    NarBytes nar = NarBytes.nar().str("(", "type", "directory").entry(emoji).regular("").str(")");
    nar.str("entry", "(", "name");
    int at = nar.size();
    nar.str(ligature, "node").regular("").str(")", ")");
    assertRejected(
        nar.toByteArray(),
        at,
        "entry name '"
            + ligature
            + "' follows '"
            + emoji
            + "': entries must be in ascending byte-wise order");

    byte[] byteOrder =
        NarBytes.nar()
            .str("(", "type", "directory")
            .entry(ligature)
            .regular("")
            .str(")")
            .entry(emoji)
            .regular("")
            .str(")")
            .str(")")
            .toByteArray();
    assertEquals(byteOrder.length, validate(byteOrder));
  }

  @Test
  void duplicateEntry() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory").entry("a").regular("").str(")");
    nar.str("entry", "(", "name");
    int at = nar.size();
    nar.str("a", "node").symlink("x").str(")", ")");
    assertRejected(nar.toByteArray(), at, "duplicate entry name 'a'");
  }

  @Test
  void sortingIsPerDirectory() throws IOException {
    // 'b' then 'a' is fine when they are in different directories.
    byte[] nar =
        NarBytes.nar()
            .str("(", "type", "directory")
            .entry("b")
            .str("(", "type", "directory")
            .entry("z")
            .regular("")
            .str(")", ")", ")")
            .entry("c")
            .str("(", "type", "directory")
            .entry("a")
            .regular("")
            .str(")", ")", ")")
            .str(")")
            .toByteArray();
    assertEquals(nar.length, validate(nar));
  }

  @ParameterizedTest
  @ValueSource(strings = {".", ".."})
  void dotNames(String name) {
    assertBadName(
        name.getBytes(StandardCharsets.UTF_8), "entry name '" + name + "' is not allowed");
  }

  @Test
  void emptyName() {
    assertBadName(new byte[0], "empty entry name");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a/b", "/", "../x"})
  void slashInName(String name) {
    assertBadName(name.getBytes(StandardCharsets.UTF_8), "entry name '" + name + "' contains '/'");
  }

  @Test
  void nulInName() {
    assertBadName(new byte[] {'a', 0, 'b'}, "entry name 'a\\x00b' contains a NUL byte");
  }

  @Test
  void nameLengthIsBounded() throws IOException {
    assertBadName(
        "n".repeat(256).getBytes(StandardCharsets.UTF_8),
        "entry name of 256 bytes, longer than the 255 a file name can have");
    byte[] longest = dirWith("n".repeat(255).getBytes(StandardCharsets.UTF_8));
    assertEquals(longest.length, validate(longest));
  }

  @Test
  void hugeNameLength() {
    NarBytes nar = NarBytes.nar().str("(", "type", "directory", "entry", "(", "name");
    int at = nar.size();
    nar.u64(Long.MIN_VALUE);
    assertRejected(
        nar.toByteArray(),
        at,
        "entry name of 9223372036854775808 bytes, longer than the 255 a file name can have");
  }

  // ---- symlinks and files ----

  @Test
  void emptyTarget() {
    assertBadTarget(new byte[0], "empty symlink target");
  }

  @Test
  void nulInTarget() {
    assertBadTarget(new byte[] {'a', 0}, "symlink target 'a\\x00' contains a NUL byte");
  }

  @Test
  void targetLengthIsBounded() throws IOException {
    assertBadTarget(
        new byte[4096], "symlink target of 4096 bytes, longer than the 4095 Linux allows");
    byte[] longest = NarBytes.nar().symlink("t".repeat(4095)).toByteArray();
    assertEquals(longest.length, validate(longest));
  }

  @Test
  void fileSizeOutOfRange() {
    NarBytes nar = NarBytes.nar().str("(", "type", "regular", "contents");
    int at = nar.size();
    nar.u64(-8).zeros(64);
    assertRejected(nar.toByteArray(), at, "file size 18446744073709551608 is out of range");
  }

  // ---- depth, truncation, trailing bytes ----

  @Test
  void depthIsBounded() throws IOException {
    byte[] deepest = nested(NarReader.MAX_DEPTH);
    assertEquals(deepest.length, validate(deepest));

    byte[] tooDeep = nested(NarReader.MAX_DEPTH + 1);
    // The innermost directory's node starts where the deepest leaf's would.
    int at = NarBytes.nar().size() + NarReader.MAX_DEPTH * (56 + 80);
    assertRejected(tooDeep, at, "directories nested more than 2048 deep");
  }

  /** {@code depth} directories, each the only entry 'd' of its parent, the innermost empty. */
  private static byte[] nested(int depth) {
    NarBytes nar = NarBytes.nar();
    for (int i = 0; i < depth; i++) {
      nar.str("(", "type", "directory");
      if (i < depth - 1) {
        nar.entry("d");
      }
    }
    nar.str(")");
    for (int i = 1; i < depth; i++) {
      nar.str(")", ")");
    }
    return nar.toByteArray();
  }

  @Test
  void truncatedAtEveryOffset() {
    List<byte[]> nars = new ArrayList<>();
    for (Object vector : NixVectors.nars()) {
      @SuppressWarnings("unchecked")
      Map<String, Object> v = (Map<String, Object>) vector;
      nars.add(NarTree.base64(v));
    }
    // A file longer than the reader's buffer, so truncation meets a refill in the contents.
    nars.add(NarTree.file(NarTreeCases.bytes(NarReader.BUFFER_SIZE + 100)).nar());
    for (byte[] nar : nars) {
      for (int length = 0; length < nar.length; length += length < 2000 ? 1 : 997) {
        byte[] prefix = Arrays.copyOf(nar, length);
        FormatException e =
            assertThrows(FormatException.class, () -> validate(prefix), "prefix " + length);
        assertEquals("byte " + length, e.location(), e.getMessage());
        assertTrue(e.problem().startsWith("truncated: the input ends inside "), e.getMessage());
      }
    }
  }

  @Test
  void truncatedMessagesSayWhere() {
    byte[] nar = NarBytes.nar().regular("hello\n").toByteArray();
    // magic 24, ( type regular contents 64, size 8, contents 6, padding 2, ) 16
    assertTruncated(nar, 4, "a string length");
    assertTruncated(nar, 8 + 5, "a string");
    assertTruncated(nar, 24 + 64 + 4, "a file size");
    assertTruncated(nar, 24 + 64 + 8 + 3, "the contents of a 6-byte file");
    assertTruncated(nar, 24 + 64 + 8 + 6 + 1, "the padding after file contents");
    assertTruncated(nar, 24 + 64 + 8 + 8, "a string length");

    byte[] link = NarBytes.nar().symlink("abcdefghij").toByteArray();
    assertTruncated(link, 24 + 64 + 8 + 9, "a symlink target");
    byte[] dir = dirWith("abc".getBytes(StandardCharsets.UTF_8));
    assertTruncated(dir, 24 + 56 + 48 + 8 + 2, "an entry name");
  }

  @Test
  void truncatedWhileTheVisitorReadsTheContents() {
    byte[] nar = NarBytes.nar().regular("hello\n").toByteArray();
    byte[] prefix = Arrays.copyOf(nar, 24 + 64 + 8 + 3);
    FormatException e =
        assertThrows(
            FormatException.class,
            () -> NarReader.read(new ByteArrayInputStream(prefix), new RecordingVisitor()));
    assertEquals(
        "NAR: truncated: the input ends inside the contents of a 6-byte file (at byte 99)",
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 8, 100_000})
  void trailingBytes(int count) {
    byte[] nar = NarBytes.nar().regular("x").zeros(count).toByteArray();
    assertRejected(nar, nar.length - count, "trailing bytes after the NAR's root node");
  }

  @Test
  void secondNarAfterTheFirst() {
    byte[] one = NarBytes.nar().symlink("a").toByteArray();
    byte[] two = NarBytes.nar().symlink("a").symlink("b").toByteArray();
    assertRejected(two, one.length, "trailing bytes after the NAR's root node");
  }

  @Test
  void subjectNamesTheNar() {
    FormatException e =
        assertThrows(
            FormatException.class,
            () ->
                NarReader.read(
                    new ByteArrayInputStream(new byte[3]),
                    "NAR of /nix/store/x-y",
                    new NarVisitor() {}));
    assertEquals("NAR of /nix/store/x-y", e.subject());
    assertEquals(
        "NAR of /nix/store/x-y: truncated: the input ends inside a string length (at byte 3)",
        e.getMessage());
  }

  // ---- what the visitor sees ----

  @Test
  void readsThroughAStreamThatGivesOneByteAtATime() throws IOException {
    for (Object vector : NixVectors.nars()) {
      @SuppressWarnings("unchecked")
      Map<String, Object> v = (Map<String, Object>) vector;
      byte[] nar = NarTree.base64(v);
      RecordingVisitor visitor = new RecordingVisitor(nar);
      assertEquals(nar.length, NarReader.read(trickle(nar), visitor));
      assertEquals(NarTree.ofVector(v).events(), visitor.events());
    }
  }

  @Test
  void contentsTheVisitorLeavesAreSkipped() throws IOException {
    byte[] big = NarTreeCases.bytes(3 * NarReader.BUFFER_SIZE + 5);
    NarTree tree =
        NarTree.dir("a", NarTree.file(big), "b", NarTree.file("second"), "c", NarTree.link("t"));
    byte[] nar = tree.nar();
    List<String> seen = new ArrayList<>();
    long size =
        NarReader.read(
            new ByteArrayInputStream(nar),
            new NarVisitor() {
              @Override
              public void regular(
                  byte[] name, boolean executable, long size, long offset, InputStream contents)
                  throws IOException {
                byte[] start = new byte[3];
                assertEquals(3, contents.readNBytes(start, 0, 3));
                assertArrayEquals(Arrays.copyOfRange(nar, (int) offset, (int) offset + 3), start);
                seen.add(new String(name, StandardCharsets.UTF_8) + " " + size);
              }

              @Override
              public void symlink(byte[] name, byte[] target) {
                seen.add(
                    new String(name, StandardCharsets.UTF_8)
                        + " -> "
                        + new String(target, StandardCharsets.UTF_8));
              }
            });
    assertEquals(nar.length, size);
    assertEquals(List.of("a " + big.length, "b 6", "c -> t"), seen);
  }

  @Test
  void largeReadsBypassTheBufferAndStayInTheFile() throws IOException {
    byte[] big = NarTreeCases.bytes(2 * NarReader.BUFFER_SIZE + 11);
    byte[] nar = NarTree.dir("a", NarTree.file(big), "b", NarTree.file("after")).nar();
    List<byte[]> contents = new ArrayList<>();
    NarReader.read(
        new ByteArrayInputStream(nar),
        new NarVisitor() {
          @Override
          public void regular(
              byte[] name, boolean executable, long size, long offset, InputStream in)
              throws IOException {
            byte[] all = new byte[(int) size + 1000];
            int n = 0;
            int r;
            while ((r = in.read(all, n, all.length - n)) > 0) {
              n += r;
            }
            assertEquals(-1, r);
            assertEquals(0, in.available());
            contents.add(Arrays.copyOf(all, n));
          }
        });
    assertArrayEquals(big, contents.get(0));
    assertArrayEquals("after".getBytes(StandardCharsets.UTF_8), contents.get(1));
  }

  @Test
  void contentsStreamIsDeadAfterTheCallback() throws IOException {
    byte[] nar = NarTree.dir("a", NarTree.file("abc"), "b", NarTree.file("def")).nar();
    List<InputStream> streams = new ArrayList<>();
    NarReader.read(
        new ByteArrayInputStream(nar),
        new NarVisitor() {
          @Override
          public void regular(
              byte[] name, boolean executable, long size, long offset, InputStream in) {
            streams.add(in);
          }
        });
    assertEquals(-1, streams.get(0).read());
    assertEquals(-1, streams.get(0).read(new byte[4], 0, 4));
    assertEquals(0, streams.get(0).skip(4));
  }

  // ---- helpers ----

  private static long validate(byte[] nar) throws IOException {
    return NarReader.validate(new ByteArrayInputStream(nar));
  }

  private static void assertRejected(byte[] nar, long offset, String problem) {
    FormatException e = assertThrows(FormatException.class, () -> validate(nar));
    assertEquals("NAR: " + problem + " (at byte " + offset + ")", e.getMessage());
    assertEquals("NAR", e.subject());
    assertEquals("byte " + offset, e.location());
    assertEquals(problem, e.problem());
  }

  private static void assertTruncated(byte[] nar, int length, String inside) {
    assertRejected(
        Arrays.copyOf(nar, length), length, "truncated: the input ends inside " + inside);
  }

  /** A directory whose one entry, a regular file, has the name {@code name}. */
  private static byte[] dirWith(byte[] name) {
    return NarBytes.nar()
        .str("(", "type", "directory", "entry", "(", "name")
        .str(name)
        .str("node")
        .regular("x")
        .str(")", ")")
        .toByteArray();
  }

  private static void assertBadName(byte[] name, String problem) {
    // magic 24, ( type directory 56, entry ( name 48
    assertRejected(dirWith(name), 24 + 56 + 48, problem);
  }

  private static void assertBadTarget(byte[] target, String problem) {
    byte[] nar =
        NarBytes.nar().str("(", "type", "symlink", "target").str(target).str(")").toByteArray();
    assertRejected(nar, 24 + 64, problem);
  }

  private static InputStream trickle(byte[] bytes) {
    return new FilterInputStream(new ByteArrayInputStream(bytes)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, 1));
      }
    };
  }
}
