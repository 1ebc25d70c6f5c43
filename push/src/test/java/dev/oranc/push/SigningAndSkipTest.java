package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Skip rules ({@code -e}, {@code --already-signed}), signing and the merge rule, and everything
 * that stops a push before it uploads anything: the signing key, the input lines.
 *
 * <p>Each test builds its own paths: signing changes what the database says about them.
 */
class SigningAndSkipTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  static Nix.KeyPair key;
  TestStore store;
  Map<String, String> paths;

  @TempDir Path tmp;

  @BeforeAll
  static void key() {
    key = Nix.generateKey("oranc-push-signing-1");
  }

  @BeforeEach
  void build() {
    store = new TestStore();
    paths =
        store.build(
            List.of(
                new TestStore.Drv("dep", "mkdir $out; echo dep > $out/file"),
                new TestStore.Drv("sibling", "echo sibling > $out"),
                new TestStore.Drv(
                    "top", "mkdir $out; " + TestStore.REFER_TO_DEPS, List.of("dep", "sibling"))));
  }

  @AfterEach
  void delete() {
    store.close();
  }

  Registry registry() {
    return registries.get();
  }

  PushRunner runner() {
    return new PushRunner(registry(), key);
  }

  void sign(Nix.KeyPair with, String path) throws Exception {
    Path file = tmp.resolve(with.name() + "-" + System.nanoTime() + ".sec");
    Files.writeString(file, with.secret());
    Nix.run("nix", "store", "sign", "--key-file", file.toString(), path);
  }

  PathOutcome outcome(PushReport report, String path) {
    return report.outcomes().stream()
        .filter(o -> o.path().toString().equals(path))
        .findFirst()
        .orElseThrow(() -> new AssertionError(path + " is not in the report"));
  }

  @Test
  void pathsSignedByAnExcludedKeyAreSkippedUnlessThePatternMatchesNothing() throws Exception {
    Nix.KeyPair official = Nix.generateKey("cache.nixos.org-1");
    sign(official, paths.get("dep"));

    String repo = "skip/official";
    PushReport report = runner().push(repo, List.of(paths.get("top")));
    assertTrue(report.succeeded());
    assertEquals(Status.SKIPPED, outcome(report, paths.get("dep")).status());
    assertTrue(outcome(report, paths.get("dep")).detail().contains("cache.nixos.org-1"));
    assertEquals(Status.PUSHED, outcome(report, paths.get("top")).status());
    CacheReader cache = new CacheReader(registry(), repo);
    assertFalse(cache.narInfo(paths.get("dep")).isPresent());
    assertTrue(cache.narInfo(paths.get("top")).isPresent());

    // The Rust project's scenario: -e '^$' pushes everything, keeping the other signature.
    String all = "skip/none";
    report =
        runner()
            .push(
                all,
                List.of(paths.get("top")),
                o -> o.excludedSigningKeyPattern(Pattern.compile("^$")));
    assertEquals(Status.PUSHED, outcome(report, paths.get("dep")).status());
    NarInfo dep = new CacheReader(registry(), all).narInfo(paths.get("dep")).orElseThrow();
    assertEquals(
        List.of("cache.nixos.org-1", key.name()),
        dep.sigs().stream().map(NixSignature::keyName).toList());
    assertTrue(PublicKey.parse(official.publicKey()).verify(dep.fingerprint(), dep.sigs().get(0)));
    assertTrue(PublicKey.parse(key.publicKey()).verify(dep.fingerprint(), dep.sigs().get(1)));
  }

  @Test
  void pathsSignedByOurKeyAreSkippedUnlessAlreadySignedAndThenKeepOneSignature() throws Exception {
    sign(key, paths.get("dep"));
    String repo = "skip/ours";
    PushReport report = runner().push(repo, List.of(paths.get("top")));
    assertEquals(Status.SKIPPED, outcome(report, paths.get("dep")).status());
    assertTrue(outcome(report, paths.get("dep")).detail().contains("--already-signed"));

    report = runner().push(repo, List.of(paths.get("top")), o -> o.alreadySigned(true));
    assertTrue(report.succeeded());
    assertEquals(Status.PUSHED, outcome(report, paths.get("dep")).status());
    NarInfo dep = new CacheReader(registry(), repo).narInfo(paths.get("dep")).orElseThrow();
    assertEquals(
        NixPathInfo.of(paths.get("dep")).signatures(),
        dep.sigs().stream().map(NixSignature::toString).toList());
  }

  @Test
  void aSignatureUnderOurNameByAnotherKeyFailsThatPathAndWhatRefersToIt() throws Exception {
    Nix.KeyPair impostor = Nix.generateKey(key.name());
    sign(impostor, paths.get("dep"));
    String repo = "skip/impostor";
    PushReport report = runner().push(repo, List.of(paths.get("top")), o -> o.alreadySigned(true));
    assertFalse(report.succeeded());
    PathOutcome dep = outcome(report, paths.get("dep"));
    assertEquals(Status.FAILED, dep.status());
    assertTrue(dep.detail().contains("does not verify"), dep.detail());
    PathOutcome top = outcome(report, paths.get("top"));
    assertEquals(Status.DEPENDENCY_FAILED, top.status());
    assertTrue(top.detail().contains(paths.get("dep")), top.detail());
    assertEquals(Status.PUSHED, outcome(report, paths.get("sibling")).status());
    CacheReader cache = new CacheReader(registry(), repo);
    assertFalse(cache.narInfo(paths.get("dep")).isPresent());
    assertFalse(cache.narInfo(paths.get("top")).isPresent());
    assertTrue(cache.narInfo(paths.get("sibling")).isPresent());
    assertTrue(
        report.summary().stream().anyMatch(l -> l.startsWith("failed: " + paths.get("dep"))));
    assertTrue(
        report.summary().stream().anyMatch(l -> l.startsWith("not pushed: " + paths.get("top"))));
  }

  @Test
  void aMissingOrMalformedSigningKeyStopsThePushBeforeAnyRequest() throws Exception {
    registry().resetCounters();
    PushRunner r = runner();
    Map<String, String> env = new HashMap<>(r.environment());
    env.remove(Push.SIGNING_KEY_VARIABLE);
    PushException.SigningKey missing =
        assertThrows(
            PushException.SigningKey.class,
            () ->
                PushRunner.push(r.options("keys/missing").build(), env, List.of(paths.get("top"))));
    assertTrue(
        missing.getMessage().startsWith("ORANC_SIGNING_KEY is not set"), missing.getMessage());

    String secretPart = key.secret().substring(key.secret().indexOf(':') + 1);
    for (String bad :
        List.of(
            "no-colon-here",
            key.name() + ":" + secretPart.substring(0, 20),
            key.name() + ":" + secretPart.substring(0, secretPart.length() - 4) + "!!!!",
            key.publicKey())) {
      env.put(Push.SIGNING_KEY_VARIABLE, bad);
      PushException.SigningKey malformed =
          assertThrows(
              PushException.SigningKey.class,
              () -> PushRunner.push(r.options("keys/bad").build(), env, List.of(paths.get("top"))));
      assertTrue(malformed.getMessage().startsWith("ORANC_SIGNING_KEY: "), malformed.getMessage());
      assertFalse(
          malformed.getMessage().contains(secretPart.substring(0, 12)),
          "the message shows no key material");
      assertFalse(malformed.getMessage().contains("\n"), "one line");
    }
    assertEquals(List.of(), registry().proxiedRequests());
  }

  @Test
  void aLineThatIsNotAValidStorePathStopsThePushBeforeAnyRequest() throws Exception {
    registry().resetCounters();
    PushRunner r = runner();
    String missing = "/nix/store/" + "0".repeat(32) + "-oranc-never-built";
    Path outside = Files.writeString(tmp.resolve("not-in-store"), "x");
    Map<List<String>, String> cases =
        Map.of(
            List.of(paths.get("top"), "", "not a path at all"), "line 3: 'not a path at all'",
            List.of(outside.toString()),
                "line 1: '" + outside + "' is not in the Nix store /nix/store",
            List.of(tmp.resolve("nowhere").toString()), "does not exist",
            List.of("/nix/store/tooshort"), "is not a store path",
            List.of(paths.get("top"), missing), missing + " is not a valid path");
    for (var c : cases.entrySet()) {
      PushException.BadInput e =
          assertThrows(
              PushException.BadInput.class,
              () -> PushRunner.push(r.options("input/bad").build(), r.environment(), c.getKey()));
      assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
      assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
    assertEquals(List.of(), registry().proxiedRequests());
  }

  @Test
  void anEmptyInputPushesNothing() throws Exception {
    PushReport report = runner().push("input/empty", List.of("", "  "));
    assertTrue(report.succeeded());
    assertEquals(List.of(), report.outcomes());
  }

  static StorePath path(String p) {
    return StorePath.parse(p);
  }
}
