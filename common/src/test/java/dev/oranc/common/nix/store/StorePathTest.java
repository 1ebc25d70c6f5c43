package dev.oranc.common.nix.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.NixVectors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StorePathTest {

  private static final String DEP = "/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep";
  private static final String HASH = "z4asv3j07d89ywjf8fxkn7sg6mf5s9q5";

  @Test
  void parsesEveryVectorPath() {
    for (Map<String, Object> p : NixVectors.signingPaths()) {
      for (String full : List.of((String) p.get("store_path"), (String) p.get("deriver"))) {
        StorePath path = StorePath.parse(full);
        assertEquals(full, path.toString());
        assertEquals("/nix/store", path.storeDir());
        assertEquals(full.substring("/nix/store/".length()), path.baseName());
        assertEquals(path, StorePath.parseBaseName("/nix/store", path.baseName()));
      }
    }
  }

  @Test
  void partsOfAPath() {
    StorePath p = StorePath.parse(DEP);
    assertEquals(HASH, p.hashPart());
    assertEquals("dep", p.name());
    assertEquals(HASH + "-dep", p.baseName());
    assertEquals(DEP, p.toString());
    assertFalse(p.isDerivation());
    assertTrue(
        StorePath.parse("/nix/store/p2qkh6lklg7zljx468xsl3gwif574nq4-dep.drv").isDerivation());
    assertEquals(p, StorePath.of("/nix/store", HASH, "dep"));
    assertEquals("/tmp/other/" + HASH + "-dep", p.withStoreDir("/tmp/other/").toString());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        DEP + "/",
        DEP + "//",
        "/nix//store/" + HASH + "-dep",
        "/nix/./store/" + HASH + "-dep",
        "/nix/var/../store/" + HASH + "-dep",
        "/nix/store/" + HASH + "-dep/.",
        "/nix/store/" + HASH + "-dep/bin/..",
        "/../nix/store/" + HASH + "-dep"
      })
  void canonicalisesLikeNixCanonPath(String spelling) {
    assertEquals(DEP, StorePath.parse(spelling).toString());
  }

  @Test
  void otherStoreDirectoriesAreCanonicalisedToo() {
    StorePath p = StorePath.parse("/tmp//store/", "/tmp/store/" + HASH + "-dep");
    assertEquals("/tmp/store", p.storeDir());
    FormatException e =
        assertThrows(FormatException.class, () -> StorePath.of("/tmp/store/", HASH, "dep"));
    assertTrue(e.getMessage().contains("write it as '/tmp/store'"), e.getMessage());
    for (String notCanonical :
        List.of("/nix//store", "/nix/./store", "/nix/../store", "/nix/store/.", "/nix/store/..")) {
      assertThrows(
          FormatException.class, () -> StorePath.of(notCanonical, HASH, "dep"), notCanonical);
    }
    assertEquals("/.x/..y/store", StorePath.of("/.x/..y/store", HASH, "dep").storeDir());
    assertEquals("/nix/store", StorePath.canonicalStoreDir("/nix/var/../store/."));
    assertThrows(FormatException.class, () -> StorePath.canonicalStoreDir("nix/store"));
    assertThrows(FormatException.class, () -> StorePath.canonicalStoreDir("/"));
    assertThrows(FormatException.class, () -> StorePath.canonicalStoreDir("/nix/.."));
  }

  private static FormatException fails(String path) {
    FormatException e = assertThrows(FormatException.class, () -> StorePath.parse(path));
    assertTrue(e.getMessage().contains(path), () -> "message names the path: " + e.getMessage());
    return e;
  }

  @Test
  void pathsOutsideTheStore() {
    assertTrue(fails("/nix/stor/" + HASH + "-dep").problem().contains("is not under /nix/store"));
    assertTrue(fails("/nix/store").problem().contains("is not under /nix/store"));
    assertTrue(fails("/nix/store/..").problem().contains("is not under /nix/store"));
    assertTrue(fails("nix/store/" + HASH + "-dep").problem().contains("not an absolute path"));
    assertTrue(fails(HASH + "-dep").problem().contains("not an absolute path"));
    assertTrue(fails("").problem().contains("not an absolute path"));
    FormatException inside = fails(DEP + "/bin/sh");
    assertTrue(inside.problem().contains("inside a store path"), inside.problem());
  }

  @Test
  void containingFindsTheStorePathOfAFileInIt() {
    assertEquals(DEP, StorePath.parseContaining("/nix/store", DEP + "/bin/sh").toString());
    assertEquals(DEP, StorePath.parseContaining("/nix/store", DEP).toString());
    assertEquals(DEP, StorePath.parseContaining("/nix/store/", DEP + "/").toString());
    FormatException e =
        assertThrows(
            FormatException.class, () -> StorePath.parseContaining("/nix/store", "/etc/x"));
    assertTrue(e.getMessage().contains("is not under /nix/store"), e.getMessage());
    assertThrows(
        FormatException.class, () -> StorePath.parseContaining("/nix/store", "/nix/store/"));
    assertThrows(
        FormatException.class, () -> StorePath.parseContaining("/nix/store", "/nix/store/x/y"));
  }

  @ParameterizedTest
  @ValueSource(chars = {'e', 'o', 'u', 't', 'A', '_', '-', '.'})
  void hashPartMustBeNix32(char bad) {
    String hash = HASH.substring(0, 5) + bad + HASH.substring(6);
    FormatException e = fails("/nix/store/" + hash + "-dep");
    assertEquals("position 16", e.location());
    assertTrue(
        e.problem().contains("hash part has '" + bad + "' at position 5, which is not nix32"),
        e.problem());
    FormatException base =
        assertThrows(
            FormatException.class, () -> StorePath.parseBaseName("/nix/store", hash + "-dep"));
    assertEquals("position 5", base.location());
  }

  @Test
  void baseNameStructure() {
    assertTrue(fails("/nix/store/" + HASH).problem().contains("too short"));
    assertTrue(fails("/nix/store/" + HASH + "-").problem().contains("too short"));
    assertTrue(fails("/nix/store/abc-dep").problem().contains("too short"));
    FormatException dash = fails("/nix/store/" + HASH + "_dep");
    assertEquals("position 43", dash.location());
    assertTrue(dash.problem().contains("expected '-' after the 32-character hash part, found '_'"));
  }

  @Test
  void namesFollowNixRules() {
    String allLegal = "aZ09+-._?=";
    assertEquals(allLegal, StorePath.parse("/nix/store/" + HASH + "-" + allLegal).name());
    assertEquals(".bashrc", StorePath.parse("/nix/store/" + HASH + "-.bashrc").name());
    assertEquals("..foo", StorePath.parse("/nix/store/" + HASH + "-..foo").name());
    assertEquals(
        211, StorePath.parse("/nix/store/" + HASH + "-" + "x".repeat(211)).name().length());

    assertTrue(
        fails("/nix/store/" + HASH + "-" + "x".repeat(212))
            .problem()
            .contains("212 characters, more than the 211"));
    FormatException space = fails("/nix/store/" + HASH + "-a b");
    assertEquals("position 45", space.location());
    assertTrue(space.problem().contains("name contains U+0020"), space.problem());
    FormatException colon = fails("/nix/store/" + HASH + "-a:b");
    assertTrue(colon.problem().contains("name contains ':'"), colon.problem());
    assertThrows(FormatException.class, () -> StorePath.parse("/nix/store/" + HASH + "-ü"));
    assertThrows(FormatException.class, () -> StorePath.parse("/nix/store/" + HASH + "-a\0b"));
    for (String dots : List.of(".-x", "..-x")) {
      assertTrue(fails("/nix/store/" + HASH + "-" + dots).problem().contains("'.' or '..'"));
    }
    // "." and ".." as names are resolved away by canonicalisation of a full path, but not in a
    // base name.
    for (String dots : List.of(".", "..")) {
      FormatException e =
          assertThrows(
              FormatException.class,
              () -> StorePath.parseBaseName("/nix/store", HASH + "-" + dots));
      assertTrue(e.problem().contains("'.' or '..'"), e.problem());
    }
    assertThrows(FormatException.class, () -> StorePath.of("/nix/store", HASH, ""));
    assertThrows(FormatException.class, () -> StorePath.of("/nix/store", HASH + "a", "x"));
  }

  @Test
  void ordersByBaseNameAsNixSets() {
    List<StorePath> paths = new ArrayList<>();
    for (String base :
        List.of(
            "z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep",
            "0r2v93mqaf9d2zyqi8pgmyzmf879753y-top",
            "0r2v93mqaf9d2zyqi8pgmyzmf879753y-abc",
            "p2qkh6lklg7zljx468xsl3gwif574nq4-dep.drv")) {
      paths.add(StorePath.parseBaseName("/nix/store", base));
    }
    Collections.sort(paths);
    List<String> expected = paths.stream().map(StorePath::toString).sorted().toList();
    assertEquals(expected, paths.stream().map(StorePath::toString).toList());
    assertEquals("abc", paths.get(0).name());
  }
}
