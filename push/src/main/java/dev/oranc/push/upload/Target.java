package dev.oranc.push.upload;

import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.push.db.PathInfo;
import java.util.concurrent.CompletableFuture;

/**
 * The cache a push writes to, in the four steps the pipeline takes per path. Every method may be
 * called from any thread and returns at once; the futures complete on the registry client's event
 * loops, so their callbacks must not block.
 */
public interface Target {

  /** What the cache has of {@code info}'s path already. */
  CompletableFuture<Probe> probe(PathInfo info);

  /** A new upload of a compressed NAR. */
  NarSink openNar();

  /** Makes the uploaded {@code blob} the file {@code nar/<hash>.nar.zst} of {@code info}. */
  CompletableFuture<Void> publishNar(PathInfo info, Descriptor blob);

  /** Uploads and tags {@code narInfo}; called only after its NAR and references are there. */
  CompletableFuture<Void> publishNarInfo(PathInfo info, NarInfo narInfo);

  /**
   * A hint that {@code narInfo} will be published: what may go up before its NAR and references are
   * there (its blob, its image's config; nothing a reader can see) may start now, so that {@link
   * #publishNarInfo} then costs only the tag. By default nothing.
   */
  default void stageNarInfo(PathInfo info, NarInfo narInfo) {}
}
