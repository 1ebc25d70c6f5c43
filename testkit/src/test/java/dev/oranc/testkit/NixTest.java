package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Real Nix: builds with references, trees, keys, and cleaning up exactly what was built. */
class NixTest {

  @Test
  void buildsAPathWithAReferenceAndDeletesBothOnClose() throws Exception {
    List<String> built;
    String dep;
    String top;
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo depInfo = nix.build("oranc-testkit-dep", "hello\n");
      dep = depInfo.path();
      String tricky = "quote \" dollar ${x} $y backslash \\ tab \t line\nend";
      Nix.StorePathInfo topInfo = nix.build("oranc-testkit-top", tricky, List.of(dep));
      top = topInfo.path();

      assertTrue(top.matches("/nix/store/[0-9a-z]{32}-oranc-testkit-top-[0-9a-f]{16}"), top);
      assertEquals("hello\n", Files.readString(Path.of(dep)));
      assertEquals(tricky + "\n" + dep, Files.readString(Path.of(top)));
      assertEquals(List.of(dep), topInfo.references());
      assertEquals(dep, Nix.run("nix-store", "--query", "--references", top).strip());
      assertTrue(
          topInfo.narHash().startsWith("sha256-") || topInfo.narHash().startsWith("sha256:"),
          topInfo.narHash());
      assertTrue(topInfo.narSize() > 0);
      assertTrue(topInfo.deriver().endsWith(".drv"));

      built = nix.builtPaths();
      assertEquals(Set.of(dep, depInfo.deriver(), top, topInfo.deriver()), Set.copyOf(built));
    }
    for (String p : built) {
      assertFalse(Files.exists(Path.of(p)), p + " was deleted");
    }
  }

  @Test
  void buildsATreeWithExecutableSymlinksAndASelfReference() throws Exception {
    try (Nix nix = new Nix()) {
      String dep = nix.build("oranc-testkit-tree-dep", "dep").path();
      Nix.StorePathInfo tree = nix.buildTree("oranc-testkit-tree", "readme", List.of(dep));
      Path out = Path.of(tree.path());
      assertEquals("readme", Files.readString(out.resolve("README")));
      assertTrue(Files.isExecutable(out.resolve("bin/hello")));
      assertEquals(Path.of("hello"), Files.readSymbolicLink(out.resolve("bin/hi")));
      assertEquals(Path.of("../README"), Files.readSymbolicLink(out.resolve("share/readme")));
      assertTrue(Files.isDirectory(out.resolve("empty")));
      assertEquals(dep + "\n", Files.readString(out.resolve("refs")));
      assertEquals(Set.of(dep, tree.path()), Set.copyOf(tree.references()));
    }
  }

  @Test
  void aFailedBuildLeavesNothingBehind() throws Exception {
    List<String> built;
    try (Nix nix = new Nix()) {
      AssertionError e =
          assertThrows(
              AssertionError.class,
              () ->
                  nix.buildWith(
                      "oranc-testkit-fails", "", List.of(), "echo failing on purpose >&2; exit 3"));
      assertTrue(e.getMessage().contains("failing on purpose"), e.getMessage());
      built = nix.builtPaths();
      assertEquals(1, built.size(), built.toString());
      assertTrue(built.get(0).endsWith(".drv"));
    }
    assertFalse(Files.exists(Path.of(built.get(0))));
    String salted = built.get(0).substring(44, built.get(0).length() - 4);
    try (var store = Files.list(Path.of("/nix/store"))) {
      assertEquals(List.of(), store.filter(p -> p.toString().contains(salted)).toList());
    }
  }

  @Test
  void generatesKeysInNixsForm() {
    Nix.KeyPair key = Nix.generateKey("oranc-testkit-1");
    assertTrue(key.secret().startsWith("oranc-testkit-1:"));
    assertTrue(key.publicKey().startsWith("oranc-testkit-1:"));
    assertEquals(64, Base64.getDecoder().decode(key.secret().substring(16)).length);
    assertEquals(32, Base64.getDecoder().decode(key.publicKey().substring(16)).length);
    assertFalse(key.toString().contains(key.secret().substring(16)), key.toString());
    assertTrue(key.toString().contains(key.publicKey()));
  }

  @Test
  void failuresNameTheCommandAndCarryStderr() {
    AssertionError e =
        assertThrows(
            AssertionError.class,
            () -> Nix.run("nix-store", "--query", "--references", "/nix/store/not-a-store-path"));
    assertTrue(e.getMessage().contains("nix-store"), e.getMessage());
    assertTrue(e.getMessage().contains("not-a-store-path"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Nix.run("rm", "-rf", "/"));
  }

  @Test
  void refusesBadNamesAndReferences() {
    try (Nix nix = new Nix()) {
      assertThrows(IllegalArgumentException.class, () -> nix.build("has space", "x"));
      assertThrows(IllegalArgumentException.class, () -> nix.build(".hidden", "x"));
      assertThrows(IllegalArgumentException.class, () -> nix.build("ok", "x", List.of("/tmp/x")));
      assertEquals(List.of(), nix.builtPaths());
    }
  }
}
