package dev.oranc.retention.scan;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.error.Causes;
import dev.oranc.common.error.FormatException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.nix.hash.HashAlgorithm;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.DigestedManifest;
import dev.oranc.common.oci.TagList;
import dev.oranc.common.tag.Tag;
import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.RetentionException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a whole repository: the tag list (paged), then every tag's manifest and, for the keys that
 * refer to other keys (narinfos, realisations, debuginfo, pins), the file itself, {@code
 * parallelism} at a time on worker threads.
 *
 * <p>What is kept per key is a {@link CacheKey} and, per narinfo, its {@link NarInfoFacts}: never a
 * file's bytes beyond the one being parsed, so memory grows with the number of keys, not with their
 * size. A registry failure ends the scan: {@code gc} must not plan from a partial view (a narinfo
 * it could not read may reference one it would delete). A key that reads but cannot be understood
 * is a problem, reported, and kept.
 */
public final class CacheScanner {

  private static final Logger log = LoggerFactory.getLogger(CacheScanner.class);

  /** Tags asked for per page; registries that page (ghcr.io, Harbor) cap it at 1,000 or so. */
  static final int TAG_PAGE = 1000;

  /** Realisations, debuginfo and pins are small JSON or text; a larger one is not ours. */
  static final int MAX_SMALL_FILE = 1 << 20;

  private static final Pattern HASH_PART = Pattern.compile(KeyKind.HASH_PART);

  private final CacheTarget target;
  private final int parallelism;
  private final List<PublicKey> trustedKeys;
  private final AtomicLong listed = new AtomicLong();
  private final AtomicLong scanned = new AtomicLong();

  /**
   * @param trustedKeys when not empty, every narinfo's signatures are checked against them
   */
  public CacheScanner(CacheTarget target, int parallelism, List<PublicKey> trustedKeys) {
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism: " + parallelism + " (expected: at least 1)");
    }
    this.target = target;
    this.parallelism = parallelism;
    this.trustedKeys = List.copyOf(trustedKeys);
  }

  /** Tags listed so far (for a progress line). */
  public long listed() {
    return listed.get();
  }

  /** Tags read so far. */
  public long scanned() {
    return scanned.get();
  }

  public CacheScan scan() throws InterruptedException {
    TagList tags;
    try {
      tags =
          CacheTarget.await(
              target
                  .client()
                  .listTags(
                      target.repository(),
                      TAG_PAGE,
                      Integer.MAX_VALUE,
                      target.credentials(),
                      null));
    } catch (RegistryException e) {
      throw new RetentionException(
          "cannot list the tags of " + target.repository() + ": " + e.getMessage(), e);
    }
    listed.set(tags.tags().size());
    log.info("{}: {} tags", target.repository(), tags.tags().size());

    List<CacheKey> keys = new ArrayList<>();
    Map<String, NarInfoFacts> narinfos = new HashMap<>();
    Set<String> pinned = new HashSet<>();
    List<String> problems = new ArrayList<>();
    Set<String> unreadable = new HashSet<>();
    AtomicInteger foreign = new AtomicInteger();
    Object lock = new Object();

    ExecutorService pool =
        Executors.newFixedThreadPool(
            parallelism,
            r -> {
              Thread t = new Thread(r, "oranc-scan");
              t.setDaemon(true);
              return t;
            });
    try {
      List<Future<?>> futures = new ArrayList<>(tags.tags().size());
      for (String tag : tags.tags()) {
        futures.add(
            pool.submit(
                () -> {
                  Read read = read(tag);
                  scanned.incrementAndGet();
                  synchronized (lock) {
                    if (read instanceof Read.Foreign) {
                      foreign.incrementAndGet();
                    } else if (read instanceof Read.Unreadable u) {
                      problems.add(u.key() + ": " + u.problem());
                      unreadable.add(u.key());
                    } else if (read instanceof Read.Key k) {
                      keys.add(k.key());
                      if (k.narinfo() != null) {
                        narinfos.put(k.key().key(), k.narinfo());
                      }
                      pinned.addAll(k.pinned());
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (ExecutionException e) {
          Throwable cause = Causes.of(e);
          pool.shutdownNow();
          throw new RetentionException(
              "cannot read "
                  + target.repository()
                  + " whole, so nothing is decided from it: "
                  + cause.getMessage(),
              cause);
        }
      }
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(1, TimeUnit.MINUTES);
    }
    problems.sort(null);
    return new CacheScan(keys, narinfos, pinned, problems, unreadable, foreign.get());
  }

  /** What one tag turned out to be: gone since the listing, another tool's image, or a key. */
  private sealed interface Read {
    record Gone() implements Read {}

    record Foreign() implements Read {}

    record Unreadable(String key, String problem) implements Read {}

    record Key(CacheKey key, NarInfoFacts narinfo, Set<String> pinned) implements Read {}
  }

  private Read read(String tagValue) throws InterruptedException {
    Optional<DigestedManifest> found =
        CacheTarget.await(
            target
                .client()
                .getDigestedManifest(target.repository(), tagValue, target.credentials(), null));
    if (found.isEmpty()) {
      return new Read.Gone(); // deleted since the listing
    }
    DigestedManifest m = found.get();
    String key = m.manifest().annotations().get(ImageLayout.KEY_ANNOTATION);
    if (key == null) {
      try {
        key = target.codec().decode(tagValue);
      } catch (FormatException e) {
        return new Read.Foreign();
      }
    }
    StoredFile file;
    try {
      file = ImageLayout.read(target.repository(), Tag.of(tagValue), m.manifest());
    } catch (RegistryException.Protocol e) {
      return new Read.Unreadable(key, "not a cache file's image (" + e.getMessage() + ")");
    }
    KeyKind kind = KeyKind.of(key);
    Instant created = ImageLayout.created(m.manifest()).orElse(null);
    String subject = null;
    NarInfoFacts narinfo = null;
    Set<String> pinned = Set.of();
    if (kind == KeyKind.LISTING) {
      subject = KeyKind.hashPartOf(key);
    } else if (kind.readsBody()) {
      if (file.size() > (kind == KeyKind.NARINFO ? NarInfo.MAX_LENGTH : MAX_SMALL_FILE)) {
        return new Read.Unreadable(
            key, "is " + file.size() + " bytes, too large for a " + kind.name().toLowerCase());
      }
      byte[] body;
      try {
        body =
            CacheTarget.await(
                target
                    .cache()
                    .read(file, (int) Math.max(1, file.size()), target.credentials(), null));
      } catch (RegistryException.NotFound e) {
        return new Read.Unreadable(key, "its blob " + file.digest() + " is missing");
      }
      try {
        switch (kind) {
          case NARINFO -> {
            narinfo = narinfo(key, body);
            subject = narinfo.hashPart();
          }
          case REALISATION -> subject = realisationPath(body);
          case DEBUGINFO -> subject = debuginfoArchive(body);
          case PIN -> pinned = pinnedHashParts(body);
          default -> throw new AssertionError(kind);
        }
      } catch (FormatException | IllegalArgumentException e) {
        return new Read.Unreadable(key, e.getMessage());
      }
    }
    return new Read.Key(
        new CacheKey(key, tagValue, kind, m.digest(), file.digest(), file.size(), created, subject),
        narinfo,
        pinned);
  }

  private NarInfoFacts narinfo(String key, byte[] body) {
    NarInfo info = NarInfo.parse(body);
    String hashPart = KeyKind.hashPartOf(key);
    if (!info.storePath().hashPart().equals(hashPart)) {
      throw new IllegalArgumentException(
          "describes " + info.storePath() + ", not a path with hash " + hashPart);
    }
    List<String> references = new ArrayList<>(info.references().size());
    for (StorePath r : info.references()) {
      if (!r.hashPart().equals(hashPart)) {
        references.add(r.hashPart());
      }
    }
    Digest fileDigest =
        info.fileHash()
            .filter(h -> h.algorithm() == HashAlgorithm.SHA256)
            .map(h -> Digest.of(h.bytes()))
            .orElse(null);
    return new NarInfoFacts(
        hashPart,
        narKey(info.url()),
        fileDigest,
        info.fileSize().isPresent() ? info.fileSize().getAsLong() : -1,
        references,
        signatureProblem(info));
  }

  /** A narinfo's URL as a key of this cache: relative, without a leading {@code ./}. */
  static String narKey(String url) {
    String u = url;
    while (u.startsWith("./")) {
      u = u.substring(2);
    }
    return u;
  }

  private String signatureProblem(NarInfo info) {
    if (trustedKeys.isEmpty()) {
      return null;
    }
    List<String> names = new ArrayList<>();
    for (NixSignature sig : info.sigs()) {
      names.add(sig.keyName());
      for (PublicKey key : trustedKeys) {
        if (key.name().equals(sig.keyName()) && key.verify(info.fingerprint(), sig)) {
          return null;
        }
      }
    }
    return names.isEmpty()
        ? "is not signed"
        : "has no valid signature by a trusted key (signed by " + String.join(", ", names) + ")";
  }

  /** The hash part of the path a realisation or build trace names ({@code outPath}). */
  static String realisationPath(byte[] body) {
    Map<String, Object> json = json(body, "realisation");
    if (!(json.get("outPath") instanceof String out)) {
      throw new IllegalArgumentException("realisation has no outPath");
    }
    String base = out.substring(out.lastIndexOf('/') + 1);
    if (base.length() < 32 || !HASH_PART.matcher(base.substring(0, 32)).matches()) {
      throw new IllegalArgumentException("realisation's outPath '" + out + "' is not a store path");
    }
    return base.substring(0, 32);
  }

  /** The NAR key a debuginfo's {@code archive} ({@code ../nar/…}, relative to it) names. */
  static String debuginfoArchive(byte[] body) {
    Map<String, Object> json = json(body, "debuginfo");
    if (!(json.get("archive") instanceof String archive)) {
      throw new IllegalArgumentException("debuginfo has no archive");
    }
    String a = archive.startsWith("../") ? archive.substring(3) : "debuginfo/" + archive;
    return narKey(a);
  }

  /** The hash parts of a pin's store paths, one per line. */
  public static Set<String> pinnedHashParts(byte[] body) {
    Set<String> out = new HashSet<>();
    String text = new String(body, StandardCharsets.UTF_8);
    int lineNo = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      String l = line.strip();
      if (l.isEmpty()) {
        continue;
      }
      try {
        int slash = l.lastIndexOf('/');
        if (slash <= 0) {
          throw new IllegalArgumentException("no store directory");
        }
        out.add(StorePath.parse(l.substring(0, slash), l).hashPart());
      } catch (FormatException | IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "pin line " + lineNo + " is not a store path: " + shorten(l));
      }
    }
    return out;
  }

  private static String shorten(String s) {
    return s.length() <= 100 ? s : s.substring(0, 100) + "…";
  }

  private static Map<String, Object> json(byte[] body, String what) {
    try {
      Map<String, Object> m = JSON.std.mapFrom(body);
      if (m == null) {
        throw new IllegalArgumentException(what + " is not a JSON object");
      }
      return m;
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " is not JSON");
    }
  }
}
