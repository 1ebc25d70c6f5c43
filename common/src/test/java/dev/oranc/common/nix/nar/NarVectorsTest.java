package dev.oranc.common.nix.nar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.hash.NixVectors;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every case of {@code vectors/nar.json}, made with {@code nix-store --dump}: write and read. */
class NarVectorsTest {

  @SuppressWarnings("unchecked")
  static Stream<Map<String, Object>> vectors() {
    return NixVectors.nars().stream().map(v -> (Map<String, Object>) v);
  }

  @Test
  void theVectorsAreAllThere() {
    assertEquals(
        List.of("single-file", "single-executable", "single-symlink", "empty-file", "tree"),
        vectors().map(v -> v.get("name")).toList());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void writerMakesNixsBytes(Map<String, Object> vector, @TempDir Path dir) throws Exception {
    byte[] expected = NarTree.base64(vector);
    NarTree tree = NarTree.ofVector(vector);
    Path root = dir.resolve("root");
    tree.create(root);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long size = new NarWriter().write(root, out);

    assertArrayEquals(expected, out.toByteArray());
    assertEquals(((Number) vector.get("nar_size")).longValue(), size);
    assertEquals(size, NarWriter.narSize(root));
    NixHash hash = NixHash.of(digest(out.toByteArray()));
    assertEquals(vector.get("nar_sha256_base16"), hash.bareBase16());
    assertEquals(vector.get("nar_sha256_nix32"), hash.bareNix32());
    // The test's own reference encoder agrees, so the trees below can trust it.
    assertArrayEquals(expected, tree.nar());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void readerReportsTheTree(Map<String, Object> vector) throws Exception {
    byte[] nar = NarTree.base64(vector);
    RecordingVisitor visitor = new RecordingVisitor(nar);

    long size = NarReader.read(new ByteArrayInputStream(nar), visitor);

    assertEquals(nar.length, size);
    assertEquals(NarTree.ofVector(vector).events(), visitor.events());
    assertEquals(nar.length, NarReader.validate(new ByteArrayInputStream(nar)));
  }

  @Test
  void treeEventsInNarOrder() throws Exception {
    Map<String, Object> tree =
        vectors().filter(v -> v.get("name").equals("tree")).findFirst().orElseThrow();
    RecordingVisitor visitor = new RecordingVisitor();
    NarReader.read(new ByteArrayInputStream(NarTree.base64(tree)), visitor);
    // Spelled out once, so that a mistake shared by the reader and NarTree.events() shows.
    assertEquals(
        List.of(
            "directory ''",
            "regular 'a.txt' size 6 hex 68656c6c6f0a",
            "regular 'empty' size 0 hex ",
            "directory 'emptydir'",
            "end",
            "symlink 'link' -> 'a.txt'",
            "regular 'run.sh' executable size 18 hex 23212f62696e2f73680a6563686f2068690a",
            "directory 'sub'",
            "regular 'B-upper-sorts-first' size 1 hex 42",
            "directory 'deeper'",
            "regular 'thousand' size 1000 sha256 "
                + "44f8354494a5ba03ba1792a8d3e9c534c47a9181980fde7a3f44b06ef2ae7c7f",
            "end",
            "regular 'pad7' size 7 hex 31323334353637",
            "regular 'pad9' size 9 hex 313233343536373839",
            "symlink 'up' -> '../a.txt'",
            "end",
            "end"),
        visitor.events());
  }

  private static MessageDigest digest(byte[] bytes) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    digest.update(bytes);
    return digest;
  }
}
