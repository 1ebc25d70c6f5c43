package dev.oranc.push.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PushException;
import dev.oranc.push.db.PathInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Closure and dependency order over a made-up database; skip rules on made-up signatures. */
class ClosureTest {

  static final NixHash HASH = NixHash.sha256(new byte[32]);
  final Map<StorePath, PathInfo> db = new HashMap<>();

  StorePath path(char c) {
    return StorePath.parse("/nix/store/" + String.valueOf(c).repeat(32) + "-p" + c);
  }

  /** {@code name} refers to {@code refs} (by the same one-letter names). */
  PathInfo add(char name, String refs, NixSignature... sigs) {
    List<StorePath> references = new ArrayList<>();
    for (char r : refs.toCharArray()) {
      references.add(path(r));
    }
    PathInfo info =
        new PathInfo(
            path(name),
            HASH,
            100,
            references,
            Optional.empty(),
            Arrays.asList(sigs),
            Optional.empty());
    db.put(info.path(), info);
    return info;
  }

  Closure closure(boolean follow, char... roots) {
    List<StorePath> r = new ArrayList<>();
    for (char c : roots) {
      r.add(path(c));
    }
    return Closure.of(r, p -> Optional.ofNullable(db.get(p)), follow);
  }

  static String names(Closure c) {
    StringBuilder sb = new StringBuilder();
    c.paths().keySet().forEach(p -> sb.append(p.name().charAt(1)));
    return sb.toString();
  }

  @Test
  void theClosureListsEveryPathAfterItsReferences() {
    add('a', "");
    add('b', "ab"); // refers to itself too
    add('c', "b");
    add('d', "ac");
    add('f', "");
    Closure c = closure(true, 'd');
    assertEquals(4, c.size());
    List<StorePath> order = new ArrayList<>(c.paths().keySet());
    for (PathInfo info : c.paths().values()) {
      for (StorePath ref : info.references()) {
        assertTrue(
            ref.equals(info.path()) || order.indexOf(ref) < order.indexOf(info.path()), names(c));
      }
    }
    assertEquals("abcd", names(c));
    assertEquals("d", names(closure(false, 'd')));
    assertEquals("df", names(closure(false, 'd', 'f', 'd')));
  }

  @Test
  void aRootNotInTheDatabaseIsBadInputAndAMissingReferenceADamagedDatabase() {
    add('a', "b");
    PushException.BadInput bad =
        assertThrows(PushException.BadInput.class, () -> closure(true, 'z'));
    assertTrue(bad.getMessage().contains(path('z') + " is not a valid path"), bad.getMessage());
    PushException.Database damaged =
        assertThrows(PushException.Database.class, () -> closure(true, 'a'));
    assertTrue(damaged.getMessage().contains("refers to " + path('b')), damaged.getMessage());
  }

  @Test
  void aReferenceCycleIsRefused() {
    add('a', "b");
    add('b', "c");
    add('c', "a");
    PushException.Database e = assertThrows(PushException.Database.class, () -> closure(true, 'a'));
    assertTrue(e.getMessage().contains("reference cycle"), e.getMessage());
  }

  static NixSignature sig(String keyName) {
    return new NixSignature(keyName, new byte[64]);
  }

  @Test
  void skipRulesLookAtKeyNamesInOrderAndTheFirstMatchDecides() {
    SkipRules defaults =
        new SkipRules(Pattern.compile("^cache\\.nixos\\.org-.*$"), "ours-1", false);
    assertEquals(Optional.empty(), defaults.check(add('a', "")));
    assertEquals(
        Optional.empty(), defaults.check(add('b', "", sig("other-1"), sig("cache.nixos.org"))));
    assertEquals(
        SkipRules.Skip.Reason.EXCLUDED_KEY,
        defaults
            .check(add('c', "", sig("other-1"), sig("cache.nixos.org-1")))
            .orElseThrow()
            .reason());
    assertEquals(
        SkipRules.Skip.Reason.SIGNED_BY_US,
        defaults.check(add('d', "", sig("ours-1"))).orElseThrow().reason());
    // A partial name is not ours.
    assertEquals(Optional.empty(), defaults.check(add('g', "", sig("ours-10"))));

    SkipRules alreadySigned =
        new SkipRules(Pattern.compile("^cache\\.nixos\\.org-.*$"), "ours-1", true);
    assertEquals(Optional.empty(), alreadySigned.check(db.get(path('d'))));
    assertEquals(
        SkipRules.Skip.Reason.EXCLUDED_KEY,
        alreadySigned.check(db.get(path('c'))).orElseThrow().reason());

    // '^$' matches no key name: nothing is excluded. The pattern is found anywhere in a name.
    SkipRules none = new SkipRules(Pattern.compile("^$"), "ours-1", true);
    assertEquals(Optional.empty(), none.check(db.get(path('c'))));
    SkipRules partial = new SkipRules(Pattern.compile("nixos"), "ours-1", true);
    assertEquals("cache.nixos.org-1", partial.check(db.get(path('c'))).orElseThrow().keyName());
  }
}
