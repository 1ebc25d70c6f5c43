package dev.oranc.push.realisation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.oranc.common.nix.store.StorePath;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What goes into a signed realisation file comes from the Nix database; nothing in it can break out
 * of its JSON string: ids are a SHA-256 in hex and an output name of store-path characters,
 * signatures printable ASCII without quotes or backslashes. (The JSON and signature themselves are
 * checked against Nix in NixDatabaseTest and RealisationPushTest.)
 */
class RealisationTest {

  static final String HASH = "sha256:" + "0".repeat(64);
  static final StorePath OUT = StorePath.parse("/nix/store/" + "a".repeat(32) + "-a");

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "sha256:00!out",
        "md5:" + "0",
        "sha256:" + "A" + "0",
        "!out",
        "x!y!z",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000!o\"ut",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000!a/b",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000!"
      })
  void anIdThatIsNotAHashAndAnOutputNameIsRefused(String id) {
    assertThrows(
        IllegalArgumentException.class,
        () -> new Realisation(id, OUT, new TreeSet<>(), new TreeMap<>()));
    assertThrows(
        IllegalArgumentException.class,
        () -> new Realisation(HASH + "!out", OUT, new TreeSet<>(), new TreeMap<>(Map.of(id, OUT))));
  }

  @ParameterizedTest
  @ValueSource(strings = {"k:a\"b", "k:a\\b", "k:a b", "k:a\nb", "", "k:\u00e9"})
  void aSignatureThatWouldNeedEscapingIsRefused(String sig) {
    assertThrows(
        IllegalArgumentException.class,
        () -> new Realisation(HASH + "!out", OUT, new TreeSet<>(Set.of(sig)), new TreeMap<>()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"out", "dev", "lib32", "x+y_z.1-2?="})
  void outputNamesOfStorePathCharactersAreKeys(String output) {
    Realisation r = new Realisation(HASH + "!" + output, OUT, new TreeSet<>(), new TreeMap<>());
    assertEquals("realisations/" + HASH + "!" + output + ".doi", r.key());
  }

  @Test
  void anOutputNameIsAtMost211Characters() {
    new Realisation(HASH + "!" + "a".repeat(211), OUT, new TreeSet<>(), new TreeMap<>());
    assertThrows(
        IllegalArgumentException.class,
        () -> new Realisation(HASH + "!" + "a".repeat(212), OUT, new TreeSet<>(), new TreeMap<>()));
  }
}
