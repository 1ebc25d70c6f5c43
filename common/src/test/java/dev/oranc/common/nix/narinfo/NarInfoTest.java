package dev.oranc.common.nix.narinfo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.hash.NixVectors;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.store.StorePath;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class NarInfoTest {

  private static final Map<String, String> WRITTEN = NixVectors.narinfosWrittenByNix();
  private static final String TOP = WRITTEN.get("0r2v93mqaf9d2zyqi8pgmyzmf879753y.narinfo");
  private static final String DEP = WRITTEN.get("z4asv3j07d89ywjf8fxkn7sg6mf5s9q5.narinfo");

  @Test
  @SuppressWarnings("unchecked")
  void narinfosWrittenByNixParseToTheVectorsAndFormatByteForByte() {
    assertEquals(2, WRITTEN.size());
    for (Map<String, Object> p : NixVectors.signingPaths()) {
      StorePath path = StorePath.parse((String) p.get("store_path"));
      String text = WRITTEN.get(path.hashPart() + ".narinfo");
      NarInfo info = NarInfo.parse(text);
      assertEquals(path, info.storePath());
      assertEquals("zstd", info.compression());
      assertEquals(NixHash.parse((String) p.get("nar_hash_sri")), info.narHash());
      assertEquals(((Number) p.get("nar_size")).longValue(), info.narSize());
      assertEquals(
          ((List<String>) p.get("references")).stream().map(StorePath::parse).toList(),
          info.references());
      assertEquals(Optional.of(StorePath.parse((String) p.get("deriver"))), info.deriver());
      assertEquals(List.of(NixSignature.parse((String) p.get("signature"))), info.sigs());
      assertTrue(info.ca().isEmpty());
      assertTrue(info.extraFields().isEmpty());
      assertEquals("nar/" + info.fileHash().orElseThrow().bareNix32() + ".nar.zst", info.url());
      assertEquals(p.get("fingerprint"), info.fingerprint().text());
      assertEquals(text, info.format());
      assertEquals(info, NarInfo.parse(text.getBytes(StandardCharsets.UTF_8)));
    }
  }

  @Test
  void builtFromPartsAsPushDoesGivesNixsText() {
    SecretKey key = SecretKey.parse((String) NixVectors.signing().get("secret_key"));
    NarInfo parsed = NarInfo.parse(TOP);
    NarInfo built =
        NarInfo.of(
                StorePath.parse("/nix/store/0r2v93mqaf9d2zyqi8pgmyzmf879753y-top"),
                "nar/0vz57xli0mykd77rimfl8cs3hy36cgmk4bc1m9vq3iwglvja19a6.nar.zst",
                "zstd",
                NixHash.parse("sha256:0q6yj9sbg7xi8kks5cmqc38xcpprb64a18cq9d67pds7sw04di7k"),
                160,
                List.of(StorePath.parse("/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep")))
            .withFile(
                NixHash.parse("sha256:0vz57xli0mykd77rimfl8cs3hy36cgmk4bc1m9vq3iwglvja19a6"), 130)
            .withDeriver(
                Optional.of(
                    StorePath.parse("/nix/store/13ymk1q4wh30z4fq5lf3a5d15fvb07f9-top.drv")));
    built = built.withSigs(List.of(key.sign(built.fingerprint())));
    assertEquals(parsed, built);
    assertEquals(TOP, built.format());
    assertEquals(TOP, new String(built.formatBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void emptyReferencesKeepTheTrailingSpace() {
    NarInfo dep = NarInfo.parse(DEP);
    assertTrue(dep.references().isEmpty());
    assertTrue(dep.format().contains("\nReferences: \n"));
    // Without the space (not what Nix writes, but unambiguous) it reads the same.
    assertEquals(dep, NarInfo.parse(DEP.replace("References: \n", "References:\n")));
  }

  @Test
  void toleratesWhatNixTolerates() {
    NarInfo top = NarInfo.parse(TOP);
    // Any field order; hashes in any form; runs of spaces between references.
    String shuffled =
        "NarSize: 160\n"
            + "Sig: "
            + top.sigs().get(0)
            + "\n"
            + "References:  z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep  \n"
            + "NarHash: "
            + top.narHash().toBase16()
            + "\n"
            + "FileHash: "
            + top.fileHash().orElseThrow().toSri()
            + "\n"
            + "Deriver: 13ymk1q4wh30z4fq5lf3a5d15fvb07f9-top.drv\n"
            + "FileSize: 130\n"
            + "Compression: zstd\n"
            + "URL: "
            + top.url()
            + "\n"
            + "StorePath: /nix/store/0r2v93mqaf9d2zyqi8pgmyzmf879753y-top\n";
    NarInfo parsed = NarInfo.parse(shuffled);
    assertEquals(top, parsed);
    assertEquals(TOP, parsed.format());

    String minimal =
        "StorePath: /nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep\n"
            + "URL: nar/x.nar.bz2\n"
            + "NarHash: sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv\n"
            + "NarSize: 120\n";
    NarInfo m = NarInfo.parse(minimal);
    assertEquals(NarInfo.DEFAULT_COMPRESSION, m.compression());
    assertTrue(m.fileHash().isEmpty());
    assertEquals(OptionalLong.empty(), m.fileSize());
    assertTrue(m.references().isEmpty());
    assertTrue(m.deriver().isEmpty());
    assertTrue(m.sigs().isEmpty());
    assertEquals("bzip2", NarInfo.parse(minimal + "Compression: \n").compression());
    assertTrue(NarInfo.parse(minimal + "Deriver: unknown-deriver\n").deriver().isEmpty());
    assertTrue(NarInfo.parse(minimal + "CA: \n").ca().isEmpty());
    assertEquals(
        minimal.replace("NarSize: 120\n", "NarSize: 120\nCompression: bzip2\nReferences: \n"),
        reorder(m.format()));
  }

  /** Puts Compression and References where {@code minimal} above would have them. */
  private static String reorder(String formatted) {
    String[] lines = formatted.split("\n");
    // StorePath, URL, Compression, NarHash, NarSize, References
    return lines[0] + "\n" + lines[1] + "\n" + lines[3] + "\n" + lines[4] + "\n" + lines[2] + "\n"
        + lines[5] + "\n";
  }

  @Test
  void unknownFieldsAndSystemAreKeptAndWrittenLast() {
    String withExtras =
        TOP.replace("NarSize: 160\n", "NarSize: 160\nSystem: x86_64-linux\n") + "X-Custom: a: b \n";
    NarInfo info = NarInfo.parse(withExtras);
    assertEquals(
        List.of(
            new NarInfo.Field("System", "x86_64-linux"), new NarInfo.Field("X-Custom", "a: b ")),
        info.extraFields());
    assertEquals(TOP + "System: x86_64-linux\nX-Custom: a: b \n", info.format());
    NarInfo repeated = NarInfo.parse(TOP + "X: 1\nX: 2\n");
    assertEquals(
        List.of(new NarInfo.Field("X", "1"), new NarInfo.Field("X", "2")), repeated.extraFields());
    assertEquals(TOP + "X: 1\nX: 2\n", repeated.format());
    assertThrows(IllegalArgumentException.class, () -> new NarInfo.Field("URL", "x"));
    assertThrows(IllegalArgumentException.class, () -> new NarInfo.Field("A:B", "x"));
    assertThrows(IllegalArgumentException.class, () -> new NarInfo.Field("A", "x\ny"));
  }

  @Test
  void contentAddressesAreCheckedAndKeptAsWritten() {
    String nix32 = "1nj8qw83jfbq7chly2fbkqlgz29s7ic96vki3j4dfv0vwz594s94";
    for (String ca :
        List.of(
            "fixed:r:sha256:" + nix32,
            "fixed:sha256:" + nix32,
            "text:sha256:" + nix32,
            "fixed:sha1:" + "0".repeat(32),
            "fixed:r:sha256:" + NixHash.parse("sha256:" + nix32).bareBase16())) {
      NarInfo info = NarInfo.parse(DEP + "CA: " + ca + "\n");
      assertEquals(Optional.of(ca), info.ca());
      assertEquals(DEP + "CA: " + ca + "\n", info.format());
    }
    assertEquals(
        DEP.replace("Sig:", "CA: text:sha256:" + nix32 + "\nSig:").length(),
        NarInfo.parse(DEP.replace("Sig:", "CA: text:sha256:" + nix32 + "\nSig:"))
            .format()
            .length());
    assertEquals(
        DEP + "CA: text:sha256:" + nix32 + "\n",
        NarInfo.parse(DEP.replace("Sig:", "CA: text:sha256:" + nix32 + "\nSig:")).format());
  }

  @Test
  void signaturesKeepTheirOrder() {
    NarInfo top = NarInfo.parse(TOP);
    NixSignature ours = top.sigs().get(0);
    NixSignature other =
        SecretKey.generate("aaa-first-when-sorted", new SecureRandom()).sign(top.fingerprint());
    NarInfo two = top.withSigs(List.of(ours, other));
    assertEquals(List.of(ours, other), NarInfo.parse(two.format()).sigs());
    assertTrue(two.format().endsWith("Sig: " + ours + "\nSig: " + other + "\n"));
  }

  @Test
  void referencesAreSortedAndMerged() {
    StorePath a = StorePath.parse("/nix/store/0r2v93mqaf9d2zyqi8pgmyzmf879753y-top");
    StorePath b = StorePath.parse("/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep");
    NarInfo info =
        NarInfo.of(a, "nar/x.nar", "none", NixHash.sha256(new byte[32]), 1, List.of(b, a, b));
    assertEquals(List.of(a, b), info.references());
    assertTrue(info.format().contains("\nReferences: " + a.baseName() + " " + b.baseName() + "\n"));
  }

  @Test
  void constructorRefusesWhatCannotBeWritten() {
    StorePath a = StorePath.parse("/nix/store/0r2v93mqaf9d2zyqi8pgmyzmf879753y-top");
    NixHash h = NixHash.sha256(new byte[32]);
    assertThrows(IllegalArgumentException.class, () -> NarInfo.of(a, "", "zstd", h, 1, List.of()));
    assertThrows(
        IllegalArgumentException.class, () -> NarInfo.of(a, "a\nb", "zstd", h, 1, List.of()));
    assertThrows(IllegalArgumentException.class, () -> NarInfo.of(a, "u", "", h, 1, List.of()));
    assertThrows(IllegalArgumentException.class, () -> NarInfo.of(a, "u", "zstd", h, 0, List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> NarInfo.of(a, "u", "zstd", h, 1, List.of(a.withStoreDir("/other"))));
    assertThrows(
        IllegalArgumentException.class,
        () -> NarInfo.of(a, "u", "zstd", h, 1, List.of()).withFile(h, -1));
    assertThrows(
        FormatException.class,
        () -> NarInfo.of(a, "u", "zstd", h, 1, List.of()).withCa(Optional.of("nope")));
  }

  @Test
  void otherStoreDirectories() {
    String other = TOP.replace("/nix/store/", "/tmp/store/");
    NarInfo info = NarInfo.parse("/tmp/store", other);
    assertEquals("/tmp/store", info.storePath().storeDir());
    assertEquals("/tmp/store", info.references().get(0).storeDir());
    assertEquals(other, info.format());
    FormatException e = assertThrows(FormatException.class, () -> NarInfo.parse(other));
    assertEquals("line 1", e.location());
    assertTrue(e.problem().contains("StorePath"), e.problem());
    assertTrue(e.problem().contains("is not under /nix/store"), e.problem());
  }

  // ---- malformed narinfos: each error names the line and the field

  private static FormatException fails(String text, String location, String... fragments) {
    FormatException e = assertThrows(FormatException.class, () -> NarInfo.parse(text));
    assertEquals("narinfo", e.subject());
    assertEquals(location, e.location(), e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), () -> "'" + f + "' missing from: " + e.getMessage());
    }
    return e;
  }

  /**
   * {@code text} with the line of {@code field} replaced, or removed when {@code newLine} is null.
   */
  private static String replaceLine(String text, String field, String newLine) {
    StringBuilder sb = new StringBuilder();
    for (String line : text.split("\n")) {
      String kept = line.startsWith(field + ":") ? newLine : line;
      if (kept != null) {
        sb.append(kept).append('\n');
      }
    }
    return sb.toString();
  }

  @Test
  void numbersMustBeNumbers() {
    fails(
        replaceLine(TOP, "NarSize", "NarSize: abc"), "line 7", "NarSize is not a number", "'abc'");
    fails(replaceLine(TOP, "NarSize", "NarSize: -1"), "line 7", "NarSize is not a number");
    fails(replaceLine(TOP, "NarSize", "NarSize: +1"), "line 7", "NarSize is not a number");
    fails(replaceLine(TOP, "NarSize", "NarSize: 0"), "line 7", "NarSize is 0");
    fails(replaceLine(TOP, "NarSize", "NarSize: "), "line 7", "NarSize is not a number");
    fails(
        replaceLine(TOP, "FileSize", "FileSize: 9223372036854775808"),
        "line 5",
        "FileSize is not a number");
    fails(replaceLine(TOP, "FileSize", "FileSize: 1 "), "line 5", "FileSize is not a number");
    assertEquals(
        Long.MAX_VALUE,
        NarInfo.parse(replaceLine(TOP, "FileSize", "FileSize: 9223372036854775807"))
            .fileSize()
            .getAsLong());
  }

  @Test
  void valuesMustParse() {
    fails(
        replaceLine(TOP, "NarHash", "NarHash: sha256:xyz"),
        "line 6",
        "NarHash:",
        "hash 'sha256:xyz'");
    fails(
        replaceLine(
            TOP, "FileHash", "FileHash: 0vz57xli0mykd77rimfl8cs3hy36cgmk4bc1m9vq3iwglvja19a6"),
        "line 4",
        "FileHash:",
        "no hash type");
    fails(
        replaceLine(TOP, "StorePath", "StorePath: /nix/store/0r2v93mqaf9d2zyqi8pgmyzmf879753e-top"),
        "line 1",
        "StorePath:",
        "which is not nix32");
    fails(
        replaceLine(TOP, "References", "References: z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep bad"),
        "line 8",
        "References:",
        "'bad'",
        "too short");
    fails(
        replaceLine(
            TOP, "References", "References: /nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"),
        "line 8",
        "References:");
    fails(replaceLine(TOP, "Deriver", "Deriver: "), "line 9", "Deriver:", "too short");
    fails(replaceLine(TOP, "Sig", "Sig: test-1:abc"), "line 10", "Sig:", "a signature has 64");
    fails(replaceLine(TOP, "Sig", "Sig: nocolon"), "line 10", "Sig:");
    fails(TOP + "CA: fixed:sha256:abc\n", "line 11", "CA 'fixed:sha256:abc'", "not 3");
    fails(
        TOP + "CA: text:sha1:" + "0".repeat(32) + "\n",
        "line 11",
        "text content address uses sha256");
    fails(TOP + "CA: source:sha256:x\n", "line 11", "unknown method 'source'");
    fails(TOP + "CA: fixed:r:\n", "line 11", "no '<type>:<hash>'");
  }

  @Test
  void requiredFields() {
    fails(replaceLine(TOP, "StorePath", null), "", "missing required field StorePath");
    fails(replaceLine(TOP, "URL", null), "", "missing required field URL");
    fails(replaceLine(TOP, "NarHash", null), "", "missing required field NarHash");
    fails(replaceLine(TOP, "NarSize", null), "", "missing required field NarSize");
    fails(replaceLine(TOP, "URL", "URL: "), "line 2", "URL is empty");
    fails("", "", "missing required field StorePath");
  }

  @Test
  void lineStructure() {
    fails(TOP.replace("URL: ", "URL:"), "line 2", "URL: expected a space after ':'");
    fails(TOP.replace("Compression: zstd\n", "Compression zstd\n"), "line 3", "found no ':'");
    fails(TOP.replace("Compression: zstd\n", ": zstd\n"), "line 3", "no field name");
    fails(TOP.replace("Compression: zstd\n", "Compression: zstd\n\n"), "line 4", "empty line");
    fails("\n" + TOP, "line 1", "empty line");
    fails(TOP + "\n", "line 11", "empty line");
    fails(TOP.replace("\n", "\r\n"), "line 1", "carriage return");
    fails(TOP.substring(0, TOP.length() - 1), "line 10", "does not end with a newline");
    fails(TOP + "NarSize: 160\n", "line 11", "NarSize appears twice (first on line 7)");
    fails(TOP + "References: \n", "line 11", "References appears twice (first on line 8)");
  }

  @Test
  void sizeAndEncodingBounds() {
    String huge = TOP + "X: " + "a".repeat(NarInfo.MAX_LENGTH) + "\n";
    FormatException e = assertThrows(FormatException.class, () -> NarInfo.parse(huge));
    assertTrue(
        e.getMessage().contains("more than the limit of " + NarInfo.MAX_LENGTH), e.getMessage());
    FormatException bytes =
        assertThrows(
            FormatException.class, () -> NarInfo.parse(huge.getBytes(StandardCharsets.UTF_8)));
    assertTrue(bytes.getMessage().contains("bytes long"), bytes.getMessage());
    byte[] latin1 = (TOP + "X: caf\u00e9\n").getBytes(StandardCharsets.ISO_8859_1);
    FormatException notUtf8 = assertThrows(FormatException.class, () -> NarInfo.parse(latin1));
    assertTrue(notUtf8.getMessage().contains("not UTF-8"), notUtf8.getMessage());
    // Just under the bound is fine.
    String big = TOP + "X: " + "a".repeat(NarInfo.MAX_LENGTH - TOP.length() - 4) + "\n";
    assertEquals(NarInfo.MAX_LENGTH, big.length());
    assertEquals(1, NarInfo.parse(big).extraFields().size());
  }
}
