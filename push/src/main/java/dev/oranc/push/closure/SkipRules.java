package dev.oranc.push.closure;

import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.push.db.PathInfo;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * SPEC §4 step 3: which paths a push leaves out before looking at the registry. A path signed by a
 * key whose name matches {@code -e} is in that key's cache (cache.nixos.org by default); a path
 * already signed by our key name was pushed before, unless {@code --already-signed} says to push it
 * anyway. As in the Rust oranc, signatures are looked at in the database's order and the first that
 * matches a rule decides; the pattern is found anywhere in the name ({@code ^$} matches no real key
 * name, so it excludes nothing).
 */
public record SkipRules(Pattern excludedKeyPattern, String ourKeyName, boolean alreadySigned) {

  /** Why a path is left out. */
  public record Skip(Reason reason, String keyName) {
    public enum Reason {
      /** Signed by a key matching {@code -e}: in that key's cache already. */
      EXCLUDED_KEY,
      /** Signed by our key: pushed already. */
      SIGNED_BY_US
    }

    @Override
    public String toString() {
      return reason == Reason.EXCLUDED_KEY
          ? "signed by " + keyName + ", which matches --excluded-signing-key-pattern"
          : "already signed by " + keyName + " (use --already-signed to push it again)";
    }
  }

  public SkipRules {
    Objects.requireNonNull(excludedKeyPattern, "excludedKeyPattern");
    Objects.requireNonNull(ourKeyName, "ourKeyName");
  }

  public Optional<Skip> check(PathInfo info) {
    for (NixSignature sig : info.sigs()) {
      if (excludedKeyPattern.matcher(sig.keyName()).find()) {
        return Optional.of(new Skip(Skip.Reason.EXCLUDED_KEY, sig.keyName()));
      }
      if (!alreadySigned && sig.keyName().equals(ourKeyName)) {
        return Optional.of(new Skip(Skip.Reason.SIGNED_BY_US, sig.keyName()));
      }
    }
    return Optional.empty();
  }
}
