package dev.oranc.common.nix.hash;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/** The test vectors made with real Nix, from the classpath ({@code /vectors/...}). */
public final class NixVectors {

  private NixVectors() {}

  /** {@code nix-signing.json}: a key, two paths with fingerprints and signatures, narinfos. */
  public static Map<String, Object> signing() {
    try (InputStream in = open("/vectors/nix-signing.json")) {
      return JSON.std.mapFrom(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code nar.json}: NARs with their sizes and hashes. */
  public static List<Object> nars() {
    try (InputStream in = open("/vectors/nar.json")) {
      return JSON.std.listFrom(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @SuppressWarnings("unchecked")
  public static List<Map<String, Object>> signingPaths() {
    return (List<Map<String, Object>>) signing().get("paths");
  }

  @SuppressWarnings("unchecked")
  public static Map<String, String> narinfosWrittenByNix() {
    return (Map<String, String>) signing().get("narinfo_written_by_nix");
  }

  private static InputStream open(String resource) {
    InputStream in = NixVectors.class.getResourceAsStream(resource);
    if (in == null) {
      throw new IllegalStateException(resource + " is not on the test classpath");
    }
    return in;
  }
}
