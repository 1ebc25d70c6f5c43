package dev.oranc.retention.github;

import dev.oranc.retention.gc.Deleter;
import dev.oranc.retention.scan.CacheKey;
import java.util.Map;

/**
 * Deletes a key on ghcr.io: the package version named by the key's manifest digest. The versions
 * are listed once, at the first delete (one paged listing for the whole run); a key whose digest is
 * not among them is gone already.
 */
public final class GithubDeleter implements Deleter {

  private final GithubPackages packages;
  private Map<String, Long> ids;

  public GithubDeleter(GithubPackages packages) {
    this.packages = packages;
  }

  @Override
  public boolean delete(CacheKey key) throws InterruptedException {
    Long id;
    synchronized (this) {
      if (ids == null) {
        ids = packages.versionIds();
      }
      id = ids.get(key.manifestDigest().toString());
    }
    return id != null && packages.delete(id);
  }
}
