package dev.oranc.push.realisation;

import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.store.StorePath;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A realisation: which store path a derivation output ({@code sha256:<hash modulo>!<output>}) was
 * built to, as Nix's binary caches hold it in {@code realisations/<id>.doi}.
 *
 * <p>Design note. The file and the signature are Nix's own ({@code realisation.cc}, Nix 2.4 to
 * 2.34): the file is {@code toJSON().dump()} of {@code {"id", "outPath", "signatures",
 * "dependentRealisations"}}, and nlohmann's JSON object is a sorted map, so the members come in
 * byte order and the dump has no spaces; {@code outPath} is the path's base name (Nix's {@code
 * StorePath::to_string()}), {@code signatures} a sorted set, {@code dependentRealisations} a map
 * from id to base name. The fingerprint a signature covers is the same dump without {@code
 * signatures}. Ed25519 signatures are deterministic, so a realisation this class signs with the key
 * Nix signed it with carries Nix's very signature ({@code RealisationTest} checks one against a
 * real Nix 2.8 build). Nix 2.35's build traces ({@code build-trace-v2/…}) are not written: Nix
 * 2.8's database has no such thing to read.
 *
 * @param id {@code sha256:<64 hex>!<output name>}
 * @param signatures {@code name:base64}, sorted
 * @param dependents the realisations this one's derivation used, id to output path
 */
public record Realisation(
    String id,
    StorePath outPath,
    SortedSet<String> signatures,
    SortedMap<String, StorePath> dependents) {

  /** The output names Nix allows (store path name characters), after a SHA-256 in hex. */
  private static final Pattern ID =
      Pattern.compile("sha256:[0-9a-f]{64}![A-Za-z0-9+\\-._?=]{1,211}");

  public static final String CONTENT_TYPE = "application/json";
  public static final String KEY_PREFIX = "realisations/";

  public Realisation {
    requireId(id);
    Objects.requireNonNull(outPath, "outPath");
    signatures = Collections.unmodifiableSortedSet(new TreeSet<>(signatures));
    for (String s : signatures) {
      if (s.isEmpty() || s.chars().anyMatch(c -> c <= ' ' || c == '"' || c == '\\' || c >= 0x7f)) {
        throw new IllegalArgumentException("signature of " + id + ": not a Nix signature");
      }
    }
    dependents = Collections.unmodifiableSortedMap(new TreeMap<>(dependents));
    dependents.keySet().forEach(Realisation::requireId);
  }

  private static void requireId(String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "realisation id " + id + " (expected: sha256:<64 hex digits>!<output name>)");
    }
  }

  /** {@code realisations/<id>.doi}, the key Nix reads. */
  public String key() {
    return KEY_PREFIX + id + ".doi";
  }

  /** The file Nix writes: the JSON with the signatures. */
  public byte[] json() {
    return json(true).getBytes(StandardCharsets.UTF_8);
  }

  /** What a signature covers: the JSON without the signatures. */
  public String fingerprint() {
    return json(false);
  }

  /** This realisation with {@code key}'s signature over its fingerprint added. */
  public Realisation signedWith(SecretKey key) {
    SortedSet<String> sigs = new TreeSet<>(signatures);
    sigs.add(key.sign(fingerprint().getBytes(StandardCharsets.UTF_8)).toString());
    return new Realisation(id, outPath, sigs, dependents);
  }

  private String json(boolean withSignatures) {
    StringBuilder b = new StringBuilder(256).append("{\"dependentRealisations\":{");
    boolean first = true;
    for (Map.Entry<String, StorePath> d : dependents.entrySet()) {
      b.append(first ? "" : ",")
          .append('"')
          .append(d.getKey())
          .append("\":\"")
          .append(d.getValue().baseName())
          .append('"');
      first = false;
    }
    b.append("},\"id\":\"")
        .append(id)
        .append("\",\"outPath\":\"")
        .append(outPath.baseName())
        .append('"');
    if (withSignatures) {
      b.append(",\"signatures\":[");
      first = true;
      for (String s : signatures) {
        b.append(first ? "" : ",").append('"').append(s).append('"');
        first = false;
      }
      b.append(']');
    }
    return b.append('}').toString();
  }
}
