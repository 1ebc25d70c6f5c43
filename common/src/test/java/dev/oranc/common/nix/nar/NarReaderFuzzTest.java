package dev.oranc.common.nix.nar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.oranc.common.error.FormatException;
import dev.oranc.testkit.SeedCorpus;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of {@link NarReader} with any bytes. Invariants: the reader either refuses the input with
 * a {@link FormatException} (never another exception, never a hang or an allocation the input's
 * length fields ask for), or accepts it, and then the input is canonical: re-encoding what the
 * visitor saw gives back exactly the input's bytes, the size returned is the input's length, and
 * every file's {@code contentsOffset} is where its contents are, and what it reported obeys Nix's
 * rules (entry names valid and strictly ascending byte-wise, symlink targets non-empty without NUL,
 * bounded lengths and depth).
 *
 * <p>Seeds: the NARs of {@code vectors/nar.json} (made by {@code nix-store --dump}).
 */
class NarReaderFuzzTest {

  @FuzzTest(maxDuration = "5m")
  void canonicalNars(byte[] input) {
    ReEncoder re = new ReEncoder();
    long size;
    try {
      size = NarReader.read(new ByteArrayInputStream(input), re);
    } catch (FormatException refused) {
      return;
    } catch (IOException e) {
      throw new UncheckedIOException("a byte array cannot fail to read", e);
    }
    assertEquals(input.length, size, "the size of an accepted NAR");
    assertArrayEquals(input, re.out.toByteArray(), "an accepted NAR re-encodes to other bytes");
  }

  @Test
  void seedMutations() {
    SeedCorpus.of(NarReaderFuzzTest.class, "canonicalNars")
        .sweep(20240602, 5_000, this::canonicalNars);
  }

  /** The NAR grammar written back from the visitor's events, sharing no code with the reader. */
  private static final class ReEncoder implements NarVisitor {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** For each open directory: whether it is an entry (its parent's) rather than the root. */
    private final Deque<Boolean> open = new ArrayDeque<>();

    ReEncoder() {
      str("nix-archive-1");
    }

    private void str(String s) {
      str(s.getBytes(StandardCharsets.US_ASCII));
    }

    private void str(byte[] b) {
      u64(b.length);
      out.writeBytes(b);
      pad(b.length);
    }

    private void u64(long v) {
      for (int i = 0; i < 8; i++) {
        out.write((int) (v >>> (8 * i)));
      }
    }

    private void pad(long n) {
      for (long i = n; i % 8 != 0; i++) {
        out.write(0);
      }
    }

    /** For each open directory: its last entry name so far. */
    private final Deque<byte[]> lastNames = new ArrayDeque<>();

    private void entryStart(byte[] name) {
      if (!lastNames.isEmpty()) {
        assertTrue(
            name.length > 0 && name.length <= NarReader.MAX_NAME_LENGTH, "an entry name's length");
        String text = new String(name, StandardCharsets.ISO_8859_1);
        assertTrue(
            !text.equals(".")
                && !text.equals("..")
                && text.indexOf('/') < 0
                && text.indexOf('\0') < 0,
            "an invalid entry name was accepted");
        byte[] last = lastNames.pop();
        assertTrue(
            last.length == 0 || Arrays.compareUnsigned(last, name) < 0,
            "entries out of order or duplicated");
        lastNames.push(name);
      } else {
        assertEquals(0, name.length, "the root has a name");
      }
      if (name.length > 0) {
        str("entry");
        str("(");
        str("name");
        str(name);
        str("node");
      }
    }

    private void entryEnd(byte[] name) {
      if (name.length > 0) {
        str(")");
      }
    }

    @Override
    public void directory(byte[] name) {
      entryStart(name);
      str("(");
      str("type");
      str("directory");
      open.push(name.length > 0);
      lastNames.push(new byte[0]);
      assertTrue(lastNames.size() <= NarReader.MAX_DEPTH, "nested deeper than the bound");
    }

    @Override
    public void directoryEnd() {
      lastNames.pop();
      str(")");
      if (open.pop()) {
        str(")");
      }
    }

    @Override
    public void regular(
        byte[] name, boolean executable, long size, long contentsOffset, InputStream contents)
        throws IOException {
      entryStart(name);
      str("(");
      str("type");
      str("regular");
      if (executable) {
        str("executable");
        str("");
      }
      str("contents");
      u64(size);
      assertEquals(out.size(), contentsOffset, "contentsOffset");
      byte[] bytes = contents.readAllBytes();
      assertEquals(size, bytes.length, "the contents stream's length");
      assertTrue(contents.read() < 0);
      out.writeBytes(bytes);
      pad(size);
      str(")");
      entryEnd(name);
    }

    @Override
    public void symlink(byte[] name, byte[] target) {
      entryStart(name);
      str("(");
      str("type");
      str("symlink");
      assertTrue(
          target.length > 0 && target.length <= NarReader.MAX_TARGET_LENGTH,
          "a symlink target's length");
      for (byte b : target) {
        assertTrue(b != 0, "NUL in a symlink target");
      }
      str("target");
      str(target);
      str(")");
      entryEnd(name);
    }
  }
}
