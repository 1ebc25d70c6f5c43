package dev.oranc.push;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.testkit.Nix;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** {@code nix path-info --json} with everything a narinfo repeats: signatures and CA too. */
record NixPathInfo(
    String path,
    String narHash,
    long narSize,
    List<String> references,
    String deriver,
    List<String> signatures,
    String ca) {

  @SuppressWarnings("unchecked")
  static NixPathInfo of(String path) {
    String json = Nix.run("nix", "path-info", "--json", path);
    try {
      Map<String, Object> m = (Map<String, Object>) JSON.std.listFrom(json).get(0);
      return new NixPathInfo(
          (String) m.get("path"),
          (String) m.get("narHash"),
          ((Number) m.get("narSize")).longValue(),
          (List<String>) m.get("references"),
          (String) m.get("deriver"),
          m.containsKey("signatures") ? (List<String>) m.get("signatures") : List.of(),
          (String) m.get("ca"));
    } catch (IOException e) {
      throw new AssertionError("cannot read " + json, e);
    }
  }
}
