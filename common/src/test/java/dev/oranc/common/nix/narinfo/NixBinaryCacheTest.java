package dev.oranc.common.nix.narinfo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.nix.hash.NixCli;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.signature.Fingerprint;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.signature.Signatures;
import dev.oranc.common.nix.store.StorePath;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with Nix 2.8: Nix builds two throwaway paths (one referring to the other), signs them
 * and writes them to a {@code file://} binary cache; we reproduce its signatures, re-format its
 * narinfos byte for byte, and re-sign them with our own key, which Nix then verifies.
 *
 * <p>The paths carry a random salt in their names, and only they are deleted afterwards.
 */
class NixBinaryCacheTest {

  @TempDir static Path dir;

  private static String top;
  private static final Set<String> created = new LinkedHashSet<>();

  @BeforeAll
  static void buildPaths() throws IOException {
    String salt = UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    Path expr = dir.resolve("paths.nix");
    Files.writeString(
        expr,
        "let dep = derivation { name = \"oranc-formats-dep-"
            + salt
            + "\";"
            + " system = builtins.currentSystem; builder = \"/bin/sh\";"
            + " args = [ \"-c\" \"echo dep > $out\" ]; };\n"
            + "in derivation { name = \"oranc-formats-top-"
            + salt
            + "\";"
            + " system = builtins.currentSystem; builder = \"/bin/sh\";"
            + " args = [ \"-c\" \"echo ${dep} > $out\" ]; }\n");
    top = NixCli.nixBuild("--no-out-link", expr.toString()).strip();
    created.addAll(lines(NixCli.nixStore("--query", "--requisites", top)));
    String topDrv = NixCli.nixStore("--query", "--deriver", top).strip();
    created.addAll(lines(NixCli.nixStore("--query", "--requisites", topDrv)));
    assertEquals(4, created.size(), "two outputs and two derivations: " + created);
  }

  @AfterAll
  static void deletePaths() {
    if (!created.isEmpty()) {
      List<String> args = new ArrayList<>(List.of("--delete"));
      args.addAll(created);
      NixCli.nixStore(args.toArray(String[]::new));
    }
  }

  private static List<String> lines(String text) {
    return text.lines().filter(l -> !l.isBlank()).toList();
  }

  @Test
  @SuppressWarnings("unchecked")
  void ourSignaturesAreNixsForTheSamePaths() throws IOException {
    Path keyFile = dir.resolve("nix-made.sk");
    Files.writeString(keyFile, NixCli.nix("key", "generate-secret", "--key-name", "nix-made-1"));
    NixCli.nix("store", "sign", "--key-file", keyFile.toString(), "--recursive", top);
    SecretKey key = SecretKey.parse(Files.readString(keyFile));

    List<Object> infos =
        JSON.std.listFrom(NixCli.nix("path-info", "--json", "--sigs", "--recursive", top));
    assertEquals(2, infos.size());
    for (Object o : infos) {
      Map<String, Object> info = (Map<String, Object>) o;
      Fingerprint fp =
          Fingerprint.of(
              StorePath.parse((String) info.get("path")),
              NixHash.parse((String) info.get("narHash")),
              ((Number) info.get("narSize")).longValue(),
              ((List<String>) info.get("references")).stream().map(StorePath::parse).toList());
      List<NixSignature> nixSigs =
          ((List<String>) info.get("signatures")).stream().map(NixSignature::parse).toList();
      NixSignature ours = key.sign(fp);
      assertEquals(List.of(ours), nixSigs, "signature of " + fp.storePath());
      assertTrue(key.publicKey().verify(fp, nixSigs.get(0)));
      // Merging ours into what Nix made changes nothing.
      assertEquals(nixSigs, Signatures.merge(fp, nixSigs, key));
    }
  }

  @Test
  void nixVerifiesNarinfosWeFormatAndSign() throws IOException {
    Path cache = dir.resolve("cache");
    String store = "file://" + cache;
    NixCli.nix("copy", "--to", store + "?compression=zstd", top);
    List<Path> narinfos;
    try (Stream<Path> files = Files.list(cache)) {
      narinfos = files.filter(p -> p.toString().endsWith(".narinfo")).sorted().toList();
    }
    assertEquals(2, narinfos.size());

    SecretKey ours = SecretKey.generate("oranc-test-" + UUID.randomUUID(), new SecureRandom());
    PublicKey trusted = ours.publicKey();
    Path topNarinfo = null;
    NarInfo topInfo = null;
    for (Path file : narinfos) {
      String written = Files.readString(file);
      NarInfo info = NarInfo.parse(Files.readAllBytes(file));
      assertEquals(written, info.format(), "byte-exact re-format of " + file.getFileName());
      assertEquals(info.storePath().hashPart() + ".narinfo", file.getFileName().toString());
      NarInfo signed = info.withSigs(Signatures.merge(info.fingerprint(), info.sigs(), ours));
      assertEquals(info.sigs().size() + 1, signed.sigs().size());
      Files.writeString(file, signed.format());
      if (info.storePath().toString().equals(top)) {
        topNarinfo = file;
        topInfo = signed;
      }
    }
    assertNotEquals(null, topNarinfo);

    NixCli.Result good = verify(store, trusted);
    assertEquals(0, good.exitCode(), "Nix rejects our narinfos:\n" + good.stderr());

    // The same check fails when the signature is over something else: the test can fail.
    Fingerprint fp = topInfo.fingerprint();
    Fingerprint wrong =
        Fingerprint.of(fp.storePath(), fp.narHash(), fp.narSize() + 1, fp.references());
    Files.writeString(topNarinfo, topInfo.withSigs(List.of(ours.sign(wrong))).format());
    NixCli.Result bad = verify(store, trusted);
    assertNotEquals(0, bad.exitCode(), "Nix accepted a signature over the wrong fingerprint");
    assertTrue(bad.stderr().contains("untrusted"), bad.stderr());
  }

  private static NixCli.Result verify(String store, PublicKey trusted) {
    return NixCli.nixResult(
        null,
        "store",
        "verify",
        "--store",
        store,
        "--trusted-public-keys",
        trusted.toString(),
        "--sigs-needed",
        "1",
        "--recursive",
        top);
  }
}
