package dev.oranc.push.upload;

import dev.oranc.common.oci.Descriptor;
import java.util.Objects;

/**
 * What the registry has of a path before we push it.
 *
 * @param nar the stored NAR's blob when {@link Kind#NAR_PRESENT}, else null
 */
public record Probe(Kind kind, Descriptor nar) {

  public enum Kind {
    /** Its narinfo is there, describes it as the database does and carries our signature. */
    IN_REGISTRY,
    /** Its NAR is there (under the database's NAR hash), its narinfo is not (or not ours). */
    NAR_PRESENT,
    /** Nothing usable is there. */
    MISSING
  }

  public static final Probe IN_REGISTRY = new Probe(Kind.IN_REGISTRY, null);
  public static final Probe MISSING = new Probe(Kind.MISSING, null);

  public Probe {
    Objects.requireNonNull(kind, "kind");
    if ((kind == Kind.NAR_PRESENT) != (nar != null)) {
      throw new IllegalArgumentException("a NAR descriptor goes with NAR_PRESENT only");
    }
  }

  public static Probe narPresent(Descriptor nar) {
    return new Probe(Kind.NAR_PRESENT, nar);
  }
}
