package dev.oranc.push.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PushException;
import dev.oranc.push.realisation.Realisation;
import dev.oranc.testkit.Nix;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Nix database, opened read-only: against the machine's real one (what Nix itself says about a
 * path), and against small databases of Nix's schema for the modes and the odd rows.
 */
class NixDatabaseTest {

  @TempDir Path tmp;

  static final String A = "/nix/store/" + "a".repeat(32) + "-a";
  static final String B = "/nix/store/" + "b".repeat(32) + "-b";
  static final String DRV = "/nix/store/" + "d".repeat(32) + "-a.drv";
  static final String HEX = "ab".repeat(32);
  static final String SIG = "k-1:" + Base64.getEncoder().encodeToString(new byte[64]);

  /**
   * A database with Nix's tables: A (deriver, two signatures, refers to B and itself), B (all
   * NULL).
   */
  Path database(String hashOfA) throws Exception {
    Path file = tmp.resolve("db.sqlite");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      s.executeUpdate(
          "CREATE TABLE ValidPaths (id integer primary key autoincrement not null, path text unique"
              + " not null, hash text not null, registrationTime integer not null, deriver text,"
              + " narSize integer, ultimate integer, sigs text, ca text)");
      s.executeUpdate(
          "CREATE TABLE Refs (referrer integer not null, reference integer not null, primary key"
              + " (referrer, reference))");
      s.executeUpdate(
          "INSERT INTO ValidPaths VALUES (1, '"
              + A
              + "', '"
              + hashOfA
              + "', 1, '"
              + DRV
              + "', 1234,"
              + " 1, '"
              + SIG
              + "  "
              + SIG.replace("k-1", "k-2")
              + "', 'fixed:r:sha256:"
              + "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s')");
      s.executeUpdate(
          "INSERT INTO ValidPaths VALUES (2, '"
              + B
              + "', 'sha256:"
              + HEX
              + "', 1, NULL, 88, NULL, NULL, NULL)");
      s.executeUpdate("INSERT INTO Refs VALUES (1, 2), (1, 1)");
    }
    return file;
  }

  @Test
  void rowsBecomePathInfosAndAbsentPathsAreEmpty() throws Exception {
    try (NixDatabase db =
        NixDatabase.open(database("sha256:" + HEX), "/nix/store", false, d -> true)) {
      PathInfo a = db.query(StorePath.parse(A)).orElseThrow();
      assertEquals(NixHash.parse("sha256:" + HEX), a.narHash());
      assertEquals(1234, a.narSize());
      assertEquals(List.of(StorePath.parse(A), StorePath.parse(B)), a.references());
      assertEquals(Optional.of(StorePath.parse(DRV)), a.deriver());
      assertEquals(List.of("k-1", "k-2"), a.sigs().stream().map(NixSignature::keyName).toList());
      assertEquals(
          Optional.of("fixed:r:sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"),
          a.ca());

      PathInfo b = db.query(StorePath.parse(B)).orElseThrow();
      assertEquals(List.of(), b.references());
      assertEquals(Optional.empty(), b.deriver());
      assertEquals(List.of(), b.sigs());
      assertEquals(Optional.empty(), b.ca());

      assertEquals(
          Optional.empty(), db.query(StorePath.parse("/nix/store/" + "c".repeat(32) + "-c")));
    }
  }

  @Test
  void aMalformedRowIsADatabaseErrorNamingThePath() throws Exception {
    try (NixDatabase db =
        NixDatabase.open(database("sha256:nothex"), "/nix/store", false, d -> true)) {
      PushException.Database e =
          assertThrows(PushException.Database.class, () -> db.query(StorePath.parse(A)));
      assertTrue(
          e.getMessage().startsWith("the Nix database's entry for " + A + " is malformed"),
          e.getMessage());
    }
  }

  @Test
  void aDirectoryThatIsNotWritableNeedsTheFlagAndThenOpensImmutable() throws Exception {
    Path file = database("sha256:" + HEX);
    PushException.Database e =
        assertThrows(
            PushException.Database.class,
            () -> NixDatabase.open(file, "/nix/store", false, d -> false));
    assertTrue(e.getMessage().contains("directory " + tmp + " is not writable"), e.getMessage());
    assertTrue(e.getMessage().contains("--allow-immutable-db"), e.getMessage());
    try (NixDatabase db = NixDatabase.open(file, "/nix/store", true, d -> false)) {
      assertEquals(1234, db.query(StorePath.parse(A)).orElseThrow().narSize());
    }
  }

  @Test
  void aMissingDatabaseSaysSo() {
    PushException.Database e =
        assertThrows(
            PushException.Database.class,
            () -> NixDatabase.open(tmp.resolve("none.sqlite"), "/nix/store", false));
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void theRealDatabaseSaysWhatNixSays() throws Exception {
    try (Nix nix = new Nix()) {
      Nix.StorePathInfo dep = nix.build("oranc-push-db-dep", "dep");
      Nix.StorePathInfo top = nix.build("oranc-push-db-top", "top", List.of(dep.path()));
      try (NixDatabase db = NixDatabase.open(NixDatabase.DEFAULT_FILE, "/nix/store", false)) {
        PathInfo info = db.query(StorePath.parse(top.path())).orElseThrow();
        assertEquals(NixHash.parse(top.narHash()), info.narHash());
        assertEquals(top.narSize(), info.narSize());
        assertEquals(
            new TreeSet<>(top.references()),
            new TreeSet<>(info.references().stream().map(StorePath::toString).toList()));
        assertEquals(top.deriver(), info.deriver().map(StorePath::toString).orElse(null));
        assertFalse(info.ca().isPresent());
      }
    }
  }

  /** Nix's ca-specific-schema.sql: realisations of A (two, one depending on B's) and of B. */
  Path databaseWithRealisations(String drvHashOfA) throws Exception {
    Path file = database("sha256:" + HEX);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      s.executeUpdate(
          "CREATE TABLE Realisations (id integer primary key autoincrement not null, drvPath text"
              + " not null, outputName text not null, outputPath integer not null, signatures text,"
              + " foreign key (outputPath) references ValidPaths(id) on delete cascade)");
      s.executeUpdate(
          "CREATE TABLE RealisationsRefs (referrer integer not null, realisationReference integer,"
              + " foreign key (referrer) references Realisations(id) on delete cascade, foreign key"
              + " (realisationReference) references Realisations(id) on delete restrict)");
      s.executeUpdate(
          "INSERT INTO Realisations VALUES (1, 'sha256:" + "0".repeat(64) + "', 'out', 2, NULL)");
      s.executeUpdate(
          "INSERT INTO Realisations VALUES (2, '"
              + drvHashOfA
              + "', 'dev', 1, '"
              + SIG.replace("k-1", "k-2")
              + "  "
              + SIG
              + "')");
      s.executeUpdate(
          "INSERT INTO Realisations VALUES (3, 'sha256:" + "f".repeat(64) + "', 'out', 1, '')");
      s.executeUpdate("INSERT INTO RealisationsRefs VALUES (2, 1)");
    }
    return file;
  }

  @Test
  void realisationsAreReadWithSignaturesAndDependents() throws Exception {
    try (NixDatabase db =
        NixDatabase.open(
            databaseWithRealisations("sha256:" + "1".repeat(64)), "/nix/store", false, d -> true)) {
      List<Realisation> ofA = db.realisations(StorePath.parse(A));
      assertEquals(2, ofA.size(), ofA.toString());
      var dev = ofA.get(0);
      assertEquals("sha256:" + "1".repeat(64) + "!dev", dev.id());
      assertEquals("realisations/sha256:" + "1".repeat(64) + "!dev.doi", dev.key());
      assertEquals(new TreeSet<>(List.of(SIG, SIG.replace("k-1", "k-2"))), dev.signatures());
      assertEquals(
          Map.of("sha256:" + "0".repeat(64) + "!out", StorePath.parse(B)), dev.dependents());
      // Nix's toJSON().dump(): members in byte order, no spaces, base names, signatures sorted.
      assertEquals(
          "{\"dependentRealisations\":{\"sha256:"
              + "0".repeat(64)
              + "!out\":\""
              + "b".repeat(32)
              + "-b\"},"
              + "\"id\":\"sha256:"
              + "1".repeat(64)
              + "!dev\",\"outPath\":\""
              + "a".repeat(32)
              + "-a\","
              + "\"signatures\":[\""
              + SIG
              + "\",\""
              + SIG.replace("k-1", "k-2")
              + "\"]}",
          new String(dev.json(), StandardCharsets.UTF_8));
      assertEquals(
          "{\"dependentRealisations\":{\"sha256:"
              + "0".repeat(64)
              + "!out\":\""
              + "b".repeat(32)
              + "-b\"},"
              + "\"id\":\"sha256:"
              + "1".repeat(64)
              + "!dev\",\"outPath\":\""
              + "a".repeat(32)
              + "-a\"}",
          dev.fingerprint());
      var out = ofA.get(1);
      assertEquals("sha256:" + "f".repeat(64) + "!out", out.id());
      assertTrue(out.signatures().isEmpty());
      assertTrue(out.dependents().isEmpty());
      assertEquals(1, db.realisations(StorePath.parse(B)).size());
    }
  }

  @Test
  void aDatabaseWithoutCaDerivationsHasNoRealisations() throws Exception {
    try (NixDatabase db =
        NixDatabase.open(database("sha256:" + HEX), "/nix/store", false, d -> true)) {
      assertEquals(List.of(), db.realisations(StorePath.parse(A)));
    }
  }

  @Test
  void aMalformedRealisationIsADatabaseError() throws Exception {
    try (NixDatabase db =
        NixDatabase.open(databaseWithRealisations("md5:xyz"), "/nix/store", false, d -> true)) {
      PushException.Database e =
          assertThrows(PushException.Database.class, () -> db.realisations(StorePath.parse(A)));
      assertTrue(e.getMessage().contains(A) && e.getMessage().contains("md5:xyz"), e.getMessage());
    }
  }
}
