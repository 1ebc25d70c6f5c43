package dev.oranc.common.nix.nar;

import static dev.oranc.common.nix.nar.NarTree.dir;
import static dev.oranc.common.nix.nar.NarTree.file;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.IntegrityException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The writer against the test's reference encoder, and its refusals. */
class NarWriterTest {

  @TempDir Path dir;

  static List<Arguments> cases() {
    return NarTreeCases.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void writesTheReferenceBytesWithAnyBufferSize(String name, NarTree tree) throws Exception {
    Path root = dir.resolve("root");
    tree.create(root);
    byte[] expected = tree.nar();

    int[] bufferSizes = {NarWriter.MIN_BUFFER_SIZE, 5003, NarWriter.DEFAULT_BUFFER_SIZE};
    for (int bufferSize : bufferSizes) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      long size = new NarWriter(bufferSize).write(root, out);
      assertArrayEquals(expected, out.toByteArray(), "buffer size " + bufferSize);
      assertEquals(expected.length, size);
    }
    assertEquals(expected.length, NarWriter.narSize(root));

    RecordingVisitor visitor = new RecordingVisitor(expected);
    assertEquals(expected.length, NarReader.read(new ByteArrayInputStream(expected), visitor));
    assertEquals(tree.events(), visitor.events());
  }

  @Test
  void entriesAreInByteOrderNotJavaStringOrder() throws Exception {
    // The test is only worth something where the two orders differ.
    assertTrue(NarTreeCases.EMOJI.compareTo(NarTreeCases.LIGATURE) < 0);
    Path root = dir.resolve("root");
    dir(NarTreeCases.LIGATURE, file("1"), NarTreeCases.EMOJI, file("2"), "z", file("3"))
        .create(root);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new NarWriter().write(root, out);

    List<String> names = new ArrayList<>();
    NarReader.read(
        new ByteArrayInputStream(out.toByteArray()),
        new NarVisitor() {
          @Override
          public void regular(
              byte[] name, boolean executable, long size, long offset, InputStream in) {
            names.add(new String(name, StandardCharsets.UTF_8));
          }
        });
    assertEquals(List.of("z", NarTreeCases.LIGATURE, NarTreeCases.EMOJI), names);
  }

  @Test
  void writerIsReusable() throws Exception {
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    NarTree treeA = dir("x", file(NarTreeCases.bytes(200_000)));
    NarTree treeB = file("small");
    treeA.create(a);
    treeB.create(b);
    NarWriter writer = new NarWriter(NarWriter.MIN_BUFFER_SIZE);
    for (int i = 0; i < 2; i++) {
      ByteArrayOutputStream outA = new ByteArrayOutputStream();
      ByteArrayOutputStream outB = new ByteArrayOutputStream();
      writer.write(a, outA);
      writer.write(b, outB);
      assertArrayEquals(treeA.nar(), outA.toByteArray());
      assertArrayEquals(treeB.nar(), outB.toByteArray());
    }
  }

  @Test
  void contentsGoOutInBufferSizedWrites() throws Exception {
    Path root = dir.resolve("big");
    file(NarTreeCases.bytes(1_000_003)).create(root);
    List<Integer> writes = new ArrayList<>();
    OutputStream sink =
        new OutputStream() {
          @Override
          public void write(int b) {
            writes.add(1);
          }

          @Override
          public void write(byte[] b, int off, int len) {
            writes.add(len);
          }
        };

    long size = new NarWriter(NarWriter.MIN_BUFFER_SIZE).write(root, sink);

    assertEquals(size, writes.stream().mapToLong(Integer::longValue).sum());
    // Every write but the last fills the buffer: nothing small goes out on its own.
    for (int i = 0; i < writes.size() - 1; i++) {
      assertEquals(NarWriter.MIN_BUFFER_SIZE, writes.get(i), "write " + i);
    }
    assertEquals((size + NarWriter.MIN_BUFFER_SIZE - 1) / NarWriter.MIN_BUFFER_SIZE, writes.size());
  }

  @Test
  void fileThatShrinksWhileWrittenFails() throws Exception {
    Path root = dir.resolve("root");
    Path file = root.resolve("changing");
    dir("changing", file(new byte[65536])).create(root);
    OutputStream sink = onFirstWrite(() -> truncate(file, 1000));

    IntegrityException e =
        assertThrows(
            IntegrityException.class,
            () -> new NarWriter(NarWriter.MIN_BUFFER_SIZE).write(root, sink));

    // The first buffer held 4096 bytes: the NAR up to the contents (232) and 3864 of them.
    assertEquals(
        "file '"
            + file
            + "' changed while it was written to a NAR: its size was 65536 bytes when"
            + " the NAR recorded it, then it ended after 3864 bytes",
        e.getMessage());
  }

  @Test
  void fileThatGrowsWhileWrittenFails() throws Exception {
    Path root = dir.resolve("root");
    file(new byte[65536]).create(root);
    OutputStream sink =
        onFirstWrite(() -> Files.write(root, new byte[] {1}, StandardOpenOption.APPEND));

    IntegrityException e =
        assertThrows(
            IntegrityException.class,
            () -> new NarWriter(NarWriter.MIN_BUFFER_SIZE).write(root, sink));

    assertEquals(
        "file '"
            + root
            + "' changed while it was written to a NAR: its size was 65536 bytes when"
            + " the NAR recorded it, then it grew",
        e.getMessage());
  }

  @Test
  void fifoIsRefused() throws Exception {
    Path root = dir.resolve("root");
    Files.createDirectories(root.resolve("sub"));
    NixNar.sh(root.resolve("sub"), "mkfifo pipe");
    Path fifo = root.resolve("sub").resolve("pipe");

    assertUnsupported(fifo, assertThrows(FormatException.class, () -> write(root)));
    assertUnsupported(fifo, assertThrows(FormatException.class, () -> NarWriter.narSize(root)));
  }

  @Test
  void socketIsRefused() throws Exception {
    Path socket = dir.resolve("socket");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      assertUnsupported(socket, assertThrows(FormatException.class, () -> write(socket)));
    }
  }

  @Test
  void deviceIsRefused() {
    Path device = Path.of("/dev/null");
    assertUnsupported(device, assertThrows(FormatException.class, () -> write(device)));
  }

  private static void assertUnsupported(Path path, FormatException e) {
    assertEquals(
        "file '"
            + path
            + "': is a socket, FIFO or device; a NAR holds only regular files,"
            + " directories and symlinks",
        e.getMessage());
  }

  @Test
  void nameThatIsNotUtf8IsRefused() throws Exception {
    assertEquals(
        StandardCharsets.UTF_8, FileNameBytes.CHARSET, "run the tests with LC_ALL=C.UTF-8");
    Path root = dir.resolve("root");
    Files.createDirectory(root);
    // A real U+FFFD next to the byte 0xff, which Java also shows as U+FFFD.
    Files.writeString(root.resolve("\uFFFD"), "fine");
    NixNar.sh(root, "printf x > \"$(printf 'a\\377')\"");

    FormatException e = assertThrows(FormatException.class, () -> write(root));
    assertEquals(
        "file '"
            + root.resolve("a\uFFFD")
            + "': its name is not valid UTF-8 (sun.jnu.encoding),"
            + " so Java cannot read its exact bytes and the NAR would be wrong; rename it or run"
            + " under a locale whose charset covers it",
        e.getMessage());
    assertThrows(FormatException.class, () -> NarWriter.narSize(root));
  }

  @Test
  void symlinkTargetThatIsNotUtf8IsRefused() throws Exception {
    Path root = dir.resolve("root");
    Files.createDirectory(root);
    NixNar.sh(root, "ln -s \"ok//$(printf '\\377')/x\" link");

    FormatException e = assertThrows(FormatException.class, () -> write(root));
    assertTrue(
        e.getMessage()
            .startsWith(
                "file '" + root.resolve("link") + "': its symlink target is not valid UTF-8"),
        e.getMessage());
  }

  @Test
  void symlinkTargetIsWrittenAsIsNotNormalised() throws Exception {
    Path root = dir.resolve("root");
    Files.createDirectory(root);
    NixNar.sh(root, "ln -s 'a//b/./' plain && ln -s \"$(printf 'x/\\357\\277\\275')\" fffd");

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new NarWriter().write(root, out);

    byte[] expected =
        NarBytes.nar()
            .str("(", "type", "directory")
            .entry("fffd")
            .symlink("x/\uFFFD")
            .str(")")
            .entry("plain")
            .symlink("a//b/./")
            .str(")", ")")
            .toByteArray();
    assertArrayEquals(expected, out.toByteArray());
  }

  @Test
  void symlinkTargetWithReplacementCharacterAndRepeatedSlashIsRefusedNotGuessed() throws Exception {
    // Faithful, but Java cannot tell it from a target with a byte that is not UTF-8 (see
    // FileNameBytes); a clear refusal rather than a possibly wrong NAR.
    Path root = dir.resolve("root");
    Files.createDirectory(root);
    NixNar.sh(root, "ln -s \"$(printf 'x//\\357\\277\\275')\" fffd");

    FormatException e = assertThrows(FormatException.class, () -> write(root));
    assertTrue(
        e.getMessage()
            .startsWith("file '" + root.resolve("fffd") + "': its symlink target is not valid"),
        e.getMessage());
  }

  @Test
  void tooSmallBufferIsRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new NarWriter(4095));
    assertEquals("bufferSize: 4095 (expected: >= 4096)", e.getMessage());
  }

  @Test
  void missingRootFailsWithTheFileSystemsError() {
    Path missing = dir.resolve("missing");
    IOException e = assertThrows(IOException.class, () -> write(missing));
    assertNotEquals(null, e.getMessage());
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  private static byte[] write(Path root) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new NarWriter().write(root, out);
    return out.toByteArray();
  }

  private interface Action {
    void run() throws IOException;
  }

  private static OutputStream onFirstWrite(Action action) {
    return new OutputStream() {
      private boolean done;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (!done) {
          done = true;
          action.run();
        }
      }
    };
  }

  private static void truncate(Path file, long size) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.truncate(size);
    }
  }
}
