package dev.oranc.retention.scan;

import java.util.regex.Pattern;

/** What a cache key is (SPEC §3's keys), which decides how it lives and dies in {@code gc}. */
public enum KeyKind {
  /** {@code <hash>.narinfo}: lives while it is pinned, recent, or referenced by a live one. */
  NARINFO,
  /** {@code nar/…}: lives while a live narinfo names it. */
  NAR,
  /** {@code realisations/…!out.doi} and {@code build-trace-v2/…}: live with the path named. */
  REALISATION,
  /** {@code <hash>.ls}: lives with its path. */
  LISTING,
  /** {@code debuginfo/<build-id>.debug}: lives with the NAR it points into. */
  DEBUGINFO,
  /** {@code log/<drv>}: lives by age. */
  LOG,
  /** {@code nix-cache-info}: always lives. */
  CACHE_INFO,
  /** {@code pins/NAME}: always lives. */
  PIN,
  /** Anything else: kept, as we do not know what it is for. */
  OTHER;

  /** Nix's base-32 alphabet: a store path's hash part. */
  static final String HASH_PART = "[0-9a-df-np-sv-z]{32}";

  private static final Pattern NARINFO_KEY = Pattern.compile(HASH_PART + "\\.narinfo");
  private static final Pattern LISTING_KEY = Pattern.compile(HASH_PART + "\\.ls");

  public static KeyKind of(String key) {
    if (key.equals("nix-cache-info")) {
      return CACHE_INFO;
    }
    if (key.startsWith("pins/")) {
      return PIN;
    }
    if (NARINFO_KEY.matcher(key).matches()) {
      return NARINFO;
    }
    if (key.startsWith("nar/")) {
      return NAR;
    }
    if (LISTING_KEY.matcher(key).matches()) {
      return LISTING;
    }
    if (key.startsWith("realisations/") || key.startsWith("build-trace-v2/")) {
      return REALISATION;
    }
    if (key.startsWith("debuginfo/")) {
      return DEBUGINFO;
    }
    if (key.startsWith("log/")) {
      return LOG;
    }
    return OTHER;
  }

  /** The hash part a narinfo or listing key is about. */
  static String hashPartOf(String key) {
    return key.substring(0, 32);
  }

  /** Whether {@link #of} needs the file's bytes to know what it refers to. */
  boolean readsBody() {
    return this == NARINFO || this == REALISATION || this == DEBUGINFO || this == PIN;
  }
}
