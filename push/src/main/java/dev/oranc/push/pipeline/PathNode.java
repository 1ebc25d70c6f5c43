package dev.oranc.push.pipeline;

import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.push.PathOutcome;
import dev.oranc.push.PathOutcome.Status;
import dev.oranc.push.db.PathInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * One path's state in a push: where it stands in the three stages, what it waits for, what became
 * of it. Touched only on the coordinator thread ({@link PushRun}), except {@link #cancelled}, which
 * the CPU thread streaming its NAR reads; so no field needs a lock.
 */
final class PathNode {
  final int index;
  final PathInfo info;

  /** The paths that refer to this one (in this push): their narinfos wait for its narinfo. */
  final List<PathNode> dependents = new ArrayList<>();

  List<NixSignature> sigs;

  /** References (in this push) whose narinfos are not up yet. */
  int waitingFor;

  Descriptor nar;
  boolean uploadedNar;
  boolean narInfoQueued;
  long narBytes;
  long fileBytes;
  Status status;
  String detail = "";
  volatile boolean cancelled;

  /** Paths with the same NAR (same NarHash) that wait for this one's upload. */
  List<PathNode> narFollowers;

  PathNode(int index, PathInfo info) {
    this.index = index;
    this.info = info;
  }

  StorePath path() {
    return info.path();
  }

  PathOutcome outcome() {
    return new PathOutcome(path(), status, detail, narBytes, fileBytes);
  }
}
