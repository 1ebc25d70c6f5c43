package dev.oranc.retention.gc;

import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.scan.CacheKey;

/** Deletes one key; tests put faults in between. */
public interface Deleter {

  /**
   * @return true when deleted, false when it was gone already (which is as good)
   */
  boolean delete(CacheKey key) throws InterruptedException;

  /** Deletes the key's manifest by digest, with it its tag. */
  static Deleter of(CacheTarget target) {
    return key ->
        CacheTarget.await(
            target
                .client()
                .deleteManifest(
                    target.repository(), key.manifestDigest(), target.credentials(), null));
  }
}
