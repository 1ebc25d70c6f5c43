package dev.oranc.proxy.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

class ErrorTableTest {

  private static final ErrorTable<String> TABLE =
      ErrorTable.<String>builder()
          .on(IOException.class, e -> "io: " + e.getMessage())
          .on(FileNotFoundException.class, e -> "missing: " + e.getMessage())
          .otherwise(e -> "fallback");

  @Test
  void theNearestRowAnswers() {
    assertEquals("missing: a", TABLE.answer(new FileNotFoundException("a")));
    assertEquals("io: b", TABLE.answer(new IOException("b")));
    assertEquals("io: c", TABLE.answer(new NoSuchFileException("c")));
    assertEquals("fallback", TABLE.answer(new UncheckedIOException(new IOException("d"))));
    assertTrue(TABLE.hasRowFor(NoSuchFileException.class));
    assertFalse(TABLE.hasRowFor(UncheckedIOException.class));
  }

  @Test
  void aKindHasOneRow() {
    ErrorTable.Builder<String> b = ErrorTable.<String>builder().on(IOException.class, e -> "a");
    assertThrows(IllegalArgumentException.class, () -> b.on(IOException.class, e -> "b"));
  }

  @Test
  void aQuoteOfWhatAClientSentIsOneBoundedPrintableLine() {
    assertEquals("a?b", ErrorText.abbreviate("a\u0000b"));
    String quoted = ErrorText.abbreviate("x".repeat(300));
    assertEquals(201, quoted.length());
    assertTrue(quoted.endsWith("…"));
  }
}
