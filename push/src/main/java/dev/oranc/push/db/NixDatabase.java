package dev.oranc.push.db;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.HashAlgorithm;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PushException;
import dev.oranc.push.realisation.Realisation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local Nix store's database ({@code /nix/var/nix/db/db.sqlite}), read-only.
 *
 * <p>Design note. Nix keeps the database in WAL mode, and SQLite reading a WAL database must be
 * able to create {@code db.sqlite-shm} and {@code -wal} next to it even when opened with {@code
 * mode=ro}; so a read-only open needs a writable directory. Where it is not (a multi-user store
 * read by an ordinary user), the only way in is {@code immutable=1}, which tells SQLite the file
 * cannot change: no locks, no WAL. That is wrong while the Nix daemon writes, so it is opt-in
 * ({@code --allow-immutable-db}) and warned about, as in the Rust oranc. Nothing here ever writes:
 * both modes refuse writes at the SQLite level.
 *
 * <p>Not thread-safe: one connection, used by the thread that plans the push.
 */
public final class NixDatabase implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NixDatabase.class);

  /** Where Nix keeps it; {@code --store-dir} does not move it (as in the Rust oranc). */
  public static final Path DEFAULT_FILE = Path.of("/nix/var/nix/db/db.sqlite");

  private static final String QUERY_PATH =
      "SELECT id, hash, deriver, narSize, sigs, ca FROM ValidPaths WHERE path = ?";
  private static final String QUERY_REFERENCES =
      "SELECT v.path FROM Refs r JOIN ValidPaths v ON v.id = r.reference WHERE r.referrer = ?";

  private final Path file;
  private final String storeDir;
  private final Connection connection;
  private final PreparedStatement queryPath;
  private final PreparedStatement queryReferences;

  /** Null when the database has no Realisations table (ca-derivations never enabled). */
  private final PreparedStatement queryRealisations;

  /** Null when it has no RealisationsRefs table (Nix before 2.4's schema for it). */
  private final PreparedStatement queryDependents;

  /*
   * Nix's ca-specific-schema.sql (2.4 on): Realisations(id, drvPath = "sha256:<hex>" (the hash
   * modulo), outputName, outputPath -> ValidPaths(id), signatures space-separated), and
   * RealisationsRefs(referrer -> Realisations(id), realisationReference -> Realisations(id)).
   */
  private static final String QUERY_REALISATIONS =
      "SELECT r.id, r.drvPath, r.outputName, r.signatures FROM Realisations r"
          + " JOIN ValidPaths v ON v.id = r.outputPath WHERE v.path = ? ORDER BY r.id";
  private static final String QUERY_DEPENDENTS =
      "SELECT d.drvPath, d.outputName, v.path FROM RealisationsRefs rr"
          + " JOIN Realisations d ON d.id = rr.realisationReference"
          + " JOIN ValidPaths v ON v.id = d.outputPath WHERE rr.referrer = ?";

  private NixDatabase(Path file, String storeDir, Connection connection) throws SQLException {
    this.file = file;
    this.storeDir = storeDir;
    this.connection = connection;
    this.queryPath = connection.prepareStatement(QUERY_PATH);
    this.queryReferences = connection.prepareStatement(QUERY_REFERENCES);
    this.queryRealisations =
        hasTable(connection, "Realisations")
            ? connection.prepareStatement(QUERY_REALISATIONS)
            : null;
    this.queryDependents =
        queryRealisations != null && hasTable(connection, "RealisationsRefs")
            ? connection.prepareStatement(QUERY_DEPENDENTS)
            : null;
  }

  private static boolean hasTable(Connection c, String name) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")) {
      s.setString(1, name);
      try (ResultSet r = s.executeQuery()) {
        return r.next();
      }
    }
  }

  /**
   * Opens {@code file} read-only for the store at {@code storeDir}.
   *
   * @throws PushException.Database when the directory is not writable and {@code allowImmutable} is
   *     false, or the file cannot be opened as a Nix database
   */
  public static NixDatabase open(Path file, String storeDir, boolean allowImmutable) {
    return open(file, storeDir, allowImmutable, Files::isWritable);
  }

  /** {@link #open(Path, String, boolean)} with the writability test given (tests run as root). */
  static NixDatabase open(
      Path file, String storeDir, boolean allowImmutable, Predicate<Path> writable) {
    String dir = StorePath.canonicalStoreDir(storeDir);
    Path absolute = file.toAbsolutePath();
    Path directory = absolute.getParent();
    if (!Files.isRegularFile(absolute)) {
      throw new PushException.Database(
          "the Nix database " + absolute + " does not exist or is not a file (is Nix installed?)",
          null);
    }
    String mode;
    if (writable.test(directory)) {
      mode = "mode=ro";
    } else if (allowImmutable) {
      log.warn(
          "{} is not writable: reading the Nix database with SQLite's immutable=1; if Nix writes to"
              + " it meanwhile, the push may read inconsistent data",
          directory);
      mode = "mode=ro&immutable=1";
    } else {
      throw new PushException.Database(
          "the Nix database directory "
              + directory
              + " is not writable, and SQLite must create its -shm and -wal files there even to"
              + " read; run as a user who may write there, or pass --allow-immutable-db to read it"
              + " with immutable=1 (unsafe while Nix writes to the store)",
          null);
    }
    // A URI filename, so that mode=ro / immutable=1 reach SQLite; toUri() percent-encodes.
    String url = "jdbc:sqlite:" + absolute.toUri() + "?" + mode;
    try {
      Connection c = DriverManager.getConnection(url);
      try {
        NixDatabase db = new NixDatabase(absolute, dir, c);
        log.debug("opened the Nix database {} ({})", absolute, mode);
        return db;
      } catch (SQLException | RuntimeException e) {
        c.close();
        throw e;
      }
    } catch (SQLException e) {
      throw new PushException.Database(
          "cannot read the Nix database " + absolute + ": " + e.getMessage(), e);
    }
  }

  public Path file() {
    return file;
  }

  public String storeDir() {
    return storeDir;
  }

  /** What the database says about {@code path}; empty when it is not a valid path. */
  public Optional<PathInfo> query(StorePath path) {
    String text = path.toString();
    try {
      long id;
      String hash;
      String deriver;
      long narSize;
      String sigs;
      String ca;
      queryPath.setString(1, text);
      try (ResultSet r = queryPath.executeQuery()) {
        if (!r.next()) {
          return Optional.empty();
        }
        id = r.getLong(1);
        hash = r.getString(2);
        deriver = r.getString(3);
        narSize = r.getLong(4);
        sigs = r.getString(5);
        ca = r.getString(6);
      }
      List<StorePath> references = new ArrayList<>();
      queryReferences.setLong(1, id);
      try (ResultSet r = queryReferences.executeQuery()) {
        while (r.next()) {
          references.add(parsePath(text, "a reference", r.getString(1)));
        }
      }
      NixHash narHash;
      List<NixSignature> signatures;
      try {
        narHash = NixHash.parse(hash, HashAlgorithm.SHA256);
        signatures = NixSignature.parseList(sigs);
      } catch (FormatException e) {
        throw new PushException.Database(
            "the Nix database's entry for " + text + " is malformed: " + e.getMessage(), e);
      }
      Optional<StorePath> deriverPath =
          deriver == null || deriver.isEmpty()
              ? Optional.empty()
              : Optional.of(parsePath(text, "its deriver", deriver));
      Optional<String> contentAddress =
          ca == null || ca.isEmpty() ? Optional.empty() : Optional.of(ca);
      return Optional.of(
          new PathInfo(
              path, narHash, narSize, references, deriverPath, signatures, contentAddress));
    } catch (SQLException e) {
      throw new PushException.Database(
          "cannot read " + text + " from the Nix database " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * The realisations whose output is {@code path}: which derivation outputs Nix recorded as built
   * to it (content-addressed derivations, with {@code ca-derivations}), with their signatures and
   * the realisations they depend on. Empty for most paths, and for a database that never had {@code
   * ca-derivations} enabled.
   */
  public List<Realisation> realisations(StorePath path) {
    if (queryRealisations == null) {
      return List.of();
    }
    String text = path.toString();
    try {
      List<Realisation> found = new ArrayList<>();
      queryRealisations.setString(1, text);
      List<Object[]> rows = new ArrayList<>();
      try (ResultSet r = queryRealisations.executeQuery()) {
        while (r.next()) {
          rows.add(new Object[] {r.getLong(1), r.getString(2), r.getString(3), r.getString(4)});
        }
      }
      for (Object[] row : rows) {
        String id = row[1] + "!" + row[2];
        SortedMap<String, StorePath> dependents = new TreeMap<>();
        if (queryDependents != null) {
          queryDependents.setLong(1, (Long) row[0]);
          try (ResultSet r = queryDependents.executeQuery()) {
            while (r.next()) {
              dependents.put(
                  r.getString(1) + "!" + r.getString(2),
                  parsePath(text, "a dependent realisation", r.getString(3)));
            }
          }
        }
        String sigs = (String) row[3];
        SortedSet<String> signatures = new TreeSet<>();
        if (sigs != null) {
          for (String s : sigs.trim().split(" +")) {
            if (!s.isEmpty()) {
              signatures.add(s);
            }
          }
        }
        try {
          found.add(new Realisation(id, path, signatures, dependents));
        } catch (IllegalArgumentException e) {
          throw new PushException.Database(
              "the Nix database's realisation of " + text + " is malformed: " + e.getMessage(), e);
        }
      }
      return found;
    } catch (SQLException e) {
      throw new PushException.Database(
          "cannot read the realisations of "
              + text
              + " from the Nix database "
              + file
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private StorePath parsePath(String of, String what, String value) {
    try {
      return StorePath.parse(storeDir, value);
    } catch (FormatException e) {
      throw new PushException.Database(
          "the Nix database names "
              + what
              + " of "
              + of
              + " that is not a store path of "
              + storeDir
              + ": "
              + e.getMessage(),
          e);
    }
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      log.debug("closing the Nix database: {}", e.getMessage());
    }
  }
}
