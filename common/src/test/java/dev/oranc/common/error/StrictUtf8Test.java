package dev.oranc.common.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StrictUtf8Test {

  @Test
  void bytesThatAreNotUtf8AreRefusedNotReplaced() {
    byte[] good = "é/ü".getBytes(StandardCharsets.UTF_8);
    assertEquals("é/ü", StrictUtf8.decode(good, "key", "is not UTF-8"));
    assertEquals("/", StrictUtf8.decode(good, 2, 1).orElseThrow());
    byte[] bad = {'a', (byte) 0xC3, 'b'};
    FormatException e =
        assertThrows(
            FormatException.class, () -> StrictUtf8.decode(bad, "key 'a?b'", "is not UTF-8"));
    assertEquals("key 'a?b': is not UTF-8", e.getMessage());
    assertEquals(Optional.empty(), StrictUtf8.decode(bad, 0, bad.length));
    assertEquals(
        Optional.empty(),
        StrictUtf8.decode(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, 0, 3),
        "an encoded surrogate is not UTF-8");
  }
}
