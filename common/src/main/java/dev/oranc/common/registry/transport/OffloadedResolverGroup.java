package dev.oranc.common.registry.transport;

import dev.oranc.common.net.AddressPolicy;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.resolver.InetSocketAddressResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Resolves registry host names with the JDK (so {@code /etc/hosts}, nsswitch and the JDK's cache
 * behave as everywhere else in Java) but never on an event loop. Netty's default resolver calls
 * {@code InetAddress.getAllByName} inline, on the loop that connects: a slow or failing DNS server
 * (a 5 s timeout per attempt) would then freeze every client connection that loop serves. Here the
 * look-up runs on a small pool of daemon threads ({@code oranc-dns-N}) and completes the loop's
 * promise; IP literals (loopback registries, tests) are answered at once without a look-up.
 */
public final class OffloadedResolverGroup extends AddressResolverGroup<InetSocketAddress> {

  /** The blocking look-up: {@link InetAddress#getAllByName} unless a test supplies another. */
  @FunctionalInterface
  interface Lookup {
    InetAddress[] lookup(String host) throws UnknownHostException;
  }

  /**
   * Shared by every client of the process: look-ups are rare (the JDK caches them, pools keep
   * connections).
   */
  private static final Executor SHARED_POOL = pool(4);

  static final OffloadedResolverGroup INSTANCE =
      new OffloadedResolverGroup(InetAddress::getAllByName, SHARED_POOL);

  /**
   * The resolver for a client with this address policy: {@link #INSTANCE}, unless a test mapped
   * made-up names to loopback addresses ({@link AddressPolicy#testLookup}), which are answered
   * first.
   */
  static OffloadedResolverGroup forPolicy(AddressPolicy policy) {
    if (!policy.hasTestNames()) {
      return INSTANCE;
    }
    return new OffloadedResolverGroup(
        host -> {
          InetAddress[] mapped = policy.testLookup(host);
          return mapped != null ? mapped : InetAddress.getAllByName(host);
        },
        SHARED_POOL);
  }

  private final Lookup lookup;
  private final Executor executor;

  OffloadedResolverGroup(Lookup lookup, Executor executor) {
    this.lookup = lookup;
    this.executor = executor;
  }

  private static Executor pool(int threads) {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "oranc-dns-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  @Override
  protected AddressResolver<InetSocketAddress> newResolver(EventExecutor loop) {
    return new InetSocketAddressResolver(loop, new Resolver(loop));
  }

  private final class Resolver extends InetNameResolver {

    Resolver(EventExecutor loop) {
      super(loop);
    }

    @Override
    protected void doResolve(String host, Promise<InetAddress> promise) {
      InetAddress literal = literal(host);
      if (literal != null) {
        promise.trySuccess(literal);
        return;
      }
      offload(promise, () -> promise.trySuccess(lookup.lookup(host)[0]));
    }

    @Override
    protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
      InetAddress literal = literal(host);
      if (literal != null) {
        promise.trySuccess(List.of(literal));
        return;
      }
      offload(promise, () -> promise.trySuccess(Arrays.asList(lookup.lookup(host))));
    }

    private InetAddress literal(String host) {
      byte[] bytes = NetUtil.createByteArrayFromIpAddressString(host);
      if (bytes == null) {
        return null;
      }
      try {
        return InetAddress.getByAddress(host, bytes);
      } catch (UnknownHostException impossible) {
        return null; // only for a byte array of the wrong length
      }
    }

    private void offload(Promise<?> promise, Task task) {
      try {
        executor.execute(
            () -> {
              try {
                task.run();
              } catch (UnknownHostException | RuntimeException e) {
                promise.tryFailure(e);
              }
            });
      } catch (RejectedExecutionException e) {
        promise.tryFailure(e);
      }
    }
  }

  @FunctionalInterface
  private interface Task {
    void run() throws UnknownHostException;
  }
}
