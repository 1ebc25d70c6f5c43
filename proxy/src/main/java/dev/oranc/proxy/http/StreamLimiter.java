package dev.oranc.proxy.http;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Bounds the blob bodies in flight per client address: NAR downloads being relayed and uploads
 * being streamed, the exchanges that hold a registry connection and up to a write buffer of memory
 * for as long as the client cares to take. One address at its bound gets a 503 with {@code
 * Retry-After} for its next stream, and everyone else is served as before. Small files (narinfos,
 * answered from memory) and misses are not streams and are never refused here.
 *
 * <p>Keyed by the peer's IP address (the port differs per connection). Behind a reverse proxy every
 * client has the proxy's address: there the bound is for all of them together.
 */
public final class StreamLimiter {

  private final int max;
  private final ConcurrentHashMap<Object, Integer> counts = new ConcurrentHashMap<>();

  /**
   * @param max streams per client address; 0 for no limit
   */
  public StreamLimiter(int max) {
    this.max = max;
  }

  int max() {
    return max;
  }

  /** A stream's hold on its client's allowance; {@link #release()} is idempotent. */
  final class Permit {
    private final Object client;
    private boolean released;

    private Permit(Object client) {
      this.client = client;
    }

    void release() {
      if (released || client == null) {
        return;
      }
      released = true;
      counts.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }
  }

  /** A permit for one more stream from {@code channel}'s peer, or null when it is at the bound. */
  Permit tryAcquire(Channel channel) {
    if (max == 0) {
      return new Permit(null);
    }
    Object client = client(channel.remoteAddress());
    boolean[] granted = {false};
    counts.compute(
        client,
        (k, n) -> {
          int held = n == null ? 0 : n;
          if (held >= max) {
            return n;
          }
          granted[0] = true;
          return held + 1;
        });
    return granted[0] ? new Permit(client) : null;
  }

  /** Streams held now by the client at {@code address} (tests). */
  int held(SocketAddress address) {
    return counts.getOrDefault(client(address), 0);
  }

  private static Object client(SocketAddress address) {
    if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return inet.getAddress();
    }
    return String.valueOf(address);
  }
}
