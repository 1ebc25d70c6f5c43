package dev.oranc.common.registry;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.registry.transport.Origin;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Upload sessions opened ahead of time ({@code POST /blobs/uploads/} answered 202), a few per
 * registry, repository and credentials, so that a blob held in memory goes up in its final {@code
 * PUT} alone: one round trip instead of two, which {@code nix copy} pays in series per path.
 *
 * <p>Design note. Bounds: at most {@code perScope} sessions per scope (opened or being opened) and
 * {@link #MAX_SCOPES} scopes; the least recently used scope is evicted beyond that. A session is
 * handed out once and kept at most {@code maxAge} (registries drop idle sessions; distribution
 * after days, others sooner): an older one is dropped when met and its DELETE sent. Nothing is
 * opened on a timer: a scope is topped up only after an upload in it succeeded (so only credentials
 * the registry took are used, and an idle server sends nothing). The sessions still held when
 * traffic stops stay open at the registry until it purges them (at most {@code perScope} per
 * scope). All methods are synchronized; the sessions are opened and dropped outside.
 */
final class UploadSessionReserve {

  /** Scopes kept; beyond, the least recently used is dropped with its sessions. */
  static final int MAX_SCOPES = 64;

  /** The longest a session is kept before it is used. */
  static final Duration MAX_AGE = Duration.ofSeconds(60);

  /** Which sessions may serve an upload: same registry, repository and credentials. */
  record Scope(Origin origin, String repository, String credentials) {}

  /**
   * A session opened (or being opened) at {@code openedAt} (ticker nanoseconds), and how to end it
   * at the registry when it is not used.
   */
  record Held(CompletableFuture<URI> session, long openedAt, Consumer<URI> cancel) {
    /** Ends the session at the registry once it is open (best effort; nothing when it failed). */
    void drop() {
      session.thenAccept(cancel);
    }
  }

  /** What {@link #take} found: a session to use (or null), and the expired ones to drop. */
  record Taken(CompletableFuture<URI> session, List<Held> expired) {}

  private final int perScope;
  private final long maxAgeNanos;
  private final Ticker ticker;
  private final LinkedHashMap<Scope, ArrayDeque<Held>> scopes =
      new LinkedHashMap<>(16, 0.75f, true);

  UploadSessionReserve(int perScope, Duration maxAge, Ticker ticker) {
    if (perScope < 1) {
      throw new IllegalArgumentException("perScope must be at least 1, not " + perScope);
    }
    this.perScope = perScope;
    this.maxAgeNanos = maxAge.toNanos();
    this.ticker = ticker;
  }

  /**
   * The oldest session of {@code scope} that is young enough, if any; older ones are handed back to
   * drop.
   */
  synchronized Taken take(Scope scope) {
    ArrayDeque<Held> held = scopes.get(scope);
    List<Held> expired = new ArrayList<>();
    if (held == null) {
      return new Taken(null, expired);
    }
    long now = ticker.read();
    Held h;
    while ((h = held.poll()) != null) {
      if (h.session().isCompletedExceptionally()) {
        continue;
      }
      if (now - h.openedAt() > maxAgeNanos) {
        expired.add(h);
        continue;
      }
      return new Taken(h.session(), expired);
    }
    return new Taken(null, expired);
  }

  /**
   * Tops {@code scope} up to {@code perScope} sessions, each opened by {@code opener} (which only
   * starts the request). Returns the sessions of a scope evicted to make room, for the caller to
   * drop.
   */
  synchronized List<Held> refill(
      Scope scope, Supplier<CompletableFuture<URI>> opener, Consumer<URI> cancel) {
    List<Held> dropped = new ArrayList<>();
    ArrayDeque<Held> held = scopes.get(scope);
    if (held == null) {
      if (scopes.size() >= MAX_SCOPES) {
        Iterator<Map.Entry<Scope, ArrayDeque<Held>>> eldest = scopes.entrySet().iterator();
        dropped.addAll(eldest.next().getValue());
        eldest.remove();
      }
      held = new ArrayDeque<>();
      scopes.put(scope, held);
    }
    held.removeIf(h -> h.session().isCompletedExceptionally());
    while (held.size() < perScope) {
      held.add(new Held(opener.get(), ticker.read(), cancel));
    }
    return dropped;
  }

  /** Sessions held in all, opened or being opened (tests). */
  synchronized int size() {
    return scopes.values().stream().mapToInt(ArrayDeque::size).sum();
  }

  /** The sessions {@code scope} holds, left in place (tests). */
  synchronized List<CompletableFuture<URI>> peek(Scope scope) {
    ArrayDeque<Held> held = scopes.get(scope);
    return held == null ? List.of() : held.stream().map(Held::session).toList();
  }

  /** Scopes held (tests). */
  synchronized int scopes() {
    return scopes.size();
  }

  /** Empties the reserve; the caller drops what it returns. */
  synchronized List<Held> clear() {
    List<Held> all = new ArrayList<>();
    scopes.values().forEach(all::addAll);
    scopes.clear();
    return all;
  }
}
