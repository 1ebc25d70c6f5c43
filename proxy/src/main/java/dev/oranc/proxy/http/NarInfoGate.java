package dev.oranc.proxy.http;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.nix.hash.HashAlgorithm;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.proxy.cache.PendingPublishes;
import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.request.Failures;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * When a narinfo {@code PUT} may publish its manifest: once the NAR its {@code URL:} names is in
 * the registry (the invariant of {@link PendingPublishes}). Runs beside the narinfo's own blob and
 * config uploads, so in the usual case it costs no round trip of its own.
 *
 * <p>Design note. In order: a NAR whose publish is pending in this process is waited for; one whose
 * publish failed here refuses the narinfo (400 naming the NAR, nothing published); one published
 * here lately passes with no request. Otherwise the registry is asked (through the key → layer
 * cache, which a client's own {@code HEAD} of the NAR has usually filled): present passes. Absent
 * while the NAR's blob ({@code FileHash}, the digest of the compressed NAR) is in the registry
 * means a publish is under way elsewhere (another replica that answered the NAR's PUT early) or
 * failed there: the tag is looked for again at growing intervals for at most {@link #WAITS}' total,
 * then the narinfo is refused, "upload the NAR first". Absent with no blob either: the client never
 * sent the NAR (an {@code aws s3 sync} of a cache directory, in whatever order, or a narinfo naming
 * a NAR elsewhere); that was never ours to police, and it publishes as it always did.
 *
 * <p>Only the first {@link #HEAD_BYTES} of the body are read (Nix writes {@code URL:} second, after
 * {@code StorePath:}); a narinfo stored with a {@code Content-Encoding} (Nix's {@code
 * narinfo-compression}) is not read at all. A narinfo without a relative {@code URL:} in those
 * bytes is not held back.
 */
final class NarInfoGate {

  /** The most of a narinfo's body kept to find its URL and FileHash. */
  static final int HEAD_BYTES = 64 * 1024;

  /** The pauses between looks for a NAR tag another server is publishing: 15.75 s in all. */
  static final List<Duration> WAITS =
      List.of(
          Duration.ofMillis(250),
          Duration.ofMillis(500),
          Duration.ofSeconds(1),
          Duration.ofSeconds(2),
          Duration.ofSeconds(4),
          Duration.ofSeconds(8));

  /** A narinfo's URL and FileHash lines, from its first bytes; either may be null. */
  record Names(String url, String fileHash) {
    static Names parse(byte[] head, int length) {
      String text = new String(head, 0, length, StandardCharsets.UTF_8);
      String url = null;
      String fileHash = null;
      int at = 0;
      while (at < text.length()) {
        int nl = text.indexOf('\n', at);
        if (nl < 0) {
          break; // a line cut at HEAD_BYTES is not trusted
        }
        String line = text.substring(at, nl);
        if (url == null && line.startsWith("URL: ")) {
          url = line.substring(5).trim();
        } else if (fileHash == null && line.startsWith("FileHash: ")) {
          fileHash = line.substring(10).trim();
        }
        at = nl + 1;
      }
      return new Names(url, fileHash);
    }

    /** The cache key the URL names, or null when it names no key of this cache. */
    String narKey() {
      if (url == null
          || url.isEmpty()
          || url.startsWith("/")
          || url.contains("://")
          || url.contains("?")) {
        return null;
      }
      return url.startsWith("./") ? url.substring(2) : url;
    }

    /** The NAR's blob digest, when FileHash is a SHA-256. */
    Digest blob() {
      if (fileHash == null) {
        return null;
      }
      try {
        NixHash h = NixHash.parse(fileHash);
        return h.algorithm() == HashAlgorithm.SHA256 ? Digest.of(h.bytes()) : null;
      } catch (FormatException | IllegalArgumentException e) {
        return null;
      }
    }
  }

  private final Backend backend;
  private final RepositoryRef repo;
  private final Credentials credentials;
  private final EventLoop loop;

  NarInfoGate(Backend backend, RepositoryRef repo, Credentials credentials, EventLoop loop) {
    this.backend = backend;
    this.repo = repo;
    this.credentials = credentials;
    this.loop = loop;
  }

  /** Completes when the narinfo may be published; fails with the refusal otherwise. */
  CompletableFuture<Void> ready(Names names) {
    String nar = names.narKey();
    if (nar == null) {
      return CompletableFuture.completedFuture(null);
    }
    PendingPublishes table = backend.pending();
    CompletableFuture<Void> pending = table.pending(repo, nar);
    if (pending != null) {
      return pending.handle((v, e) -> null).thenCompose(v -> afterOwn(nar));
    }
    if (table.failure(repo, nar).isPresent()) {
      return afterOwn(nar);
    }
    if (table.publishedLately(repo, nar)) {
      return CompletableFuture.completedFuture(null);
    }
    return backend
        .layers()
        .get(
            repo,
            nar,
            credentials,
            () -> Failures.call(() -> backend.registry().find(repo, nar, credentials, loop)))
        .thenCompose(
            lookup -> {
              if (lookup.file().isPresent()) {
                return CompletableFuture.completedFuture(null);
              }
              Digest blob = names.blob();
              if (blob == null) {
                return CompletableFuture.completedFuture(null);
              }
              return backend
                  .registry()
                  .blobExists(repo, blob, credentials, loop)
                  .thenCompose(
                      there -> there ? lookAgain(nar, 0) : CompletableFuture.completedFuture(null));
            });
  }

  private CompletableFuture<Void> afterOwn(String nar) {
    return backend
        .pending()
        .failure(repo, nar)
        .<CompletableFuture<Void>>map(
            why ->
                CompletableFuture.failedFuture(
                    new RequestRejected.BadRequest(
                        "the NAR "
                            + nar
                            + " this narinfo names failed to publish ("
                            + why
                            + "); upload the NAR again, then"
                            + " the narinfo")))
        .orElseGet(() -> CompletableFuture.completedFuture(null));
  }

  /** The NAR's blob is there but not its tag: look again after WAITS[i], then refuse. */
  private CompletableFuture<Void> lookAgain(String nar, int i) {
    if (i == WAITS.size()) {
      return CompletableFuture.failedFuture(
          new RequestRejected.BadRequest(
              "the NAR "
                  + nar
                  + " this narinfo names is not in the cache (its upload did not complete);"
                  + " upload the NAR first"));
    }
    CompletableFuture<Void> wait = new CompletableFuture<>();
    loop.schedule(() -> wait.complete(null), WAITS.get(i).toMillis(), TimeUnit.MILLISECONDS);
    return wait.thenCompose(v -> backend.registry().find(repo, nar, credentials, loop))
        .thenCompose(
            found -> {
              if (found.isPresent()) {
                backend.layers().invalidate(repo, nar);
                return CompletableFuture.completedFuture(null);
              }
              return lookAgain(nar, i + 1);
            });
  }
}
