package dev.oranc.testkit;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * A fault-injecting proxy in front of a real registry <em>and</em> its token service: a {@link
 * Rule} picks requests by method and target and answers them with a fault (a status, with headers
 * such as {@code Retry-After}, or a connection closed without an answer), for its first {@code n}
 * matches or for ever; everything else is passed on. The registry's {@code WWW-Authenticate}
 * challenges are rewritten so that their {@code realm} points here, and requests for {@code /token}
 * go on to the token service: token fetches pass through the faults too. {@code Host} is passed on
 * unchanged, so upload locations point back here as well.
 *
 * <p>Faults: a status (with headers, e.g. {@code Retry-After}), a connection closed without an
 * answer, or the upstream's real answer cut off part-way through its body (with its full {@code
 * Content-Length}: a stream that breaks). A rule applies to its first {@code times} matches ({@code
 * -1}: all), each with a probability, drawn from a seeded random so that a run reproduces. Requests
 * and bodies are aggregated (up to 64 MiB): for tests, not for gigabytes.
 */
public final class FaultInjector implements AutoCloseable {

  /** What a matched request gets. */
  public sealed interface Fault {
    record Status(int code, List<String> headers) implements Fault {}

    record Reset() implements Fault {}

    /** The real answer, its body cut after {@code fraction} of it, then the connection closed. */
    record Truncate(double fraction) implements Fault {}

    static Fault status(int code, String... headers) {
      return new Status(code, List.of(headers));
    }

    static Fault reset() {
      return new Reset();
    }

    static Fault truncate(double fraction) {
      return new Truncate(fraction);
    }
  }

  /** Requests whose method is {@code method} and whose target matches {@code target} (a find). */
  public record Rule(
      String method,
      Pattern target,
      Fault fault,
      int times,
      double probability,
      AtomicInteger hits) {
    /** The first {@code times} requests that match ({@code -1}: every one). */
    public static Rule of(String method, String targetRegex, Fault fault, int times) {
      return new Rule(method, Pattern.compile(targetRegex), fault, times, 1.0, new AtomicInteger());
    }

    /** Each matching request with this probability. */
    public static Rule sometimes(
        String method, String targetRegex, Fault fault, double probability) {
      return new Rule(
          method, Pattern.compile(targetRegex), fault, -1, probability, new AtomicInteger());
    }

    boolean applies(String m, String uri, Random random) {
      if (!m.equals(method) || !target.matcher(uri).find()) {
        return false;
      }
      if (probability < 1.0 && random.nextDouble() >= probability) {
        return false;
      }
      return times < 0 || hits.getAndIncrement() < times;
    }
  }

  /** A request answered with a fault. */
  public record Injected(String method, String uri, Fault fault) {}

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(
          1, new DefaultThreadFactory("fault-injector", true), NioIoHandler.newFactory());
  private final Random random;
  private final InetSocketAddress registry;
  private final InetSocketAddress tokens;
  private final String tokenRealm;
  private final Channel server;
  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final List<Injected> injected = new CopyOnWriteArrayList<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger injectedCount = new AtomicInteger();

  /**
   * Requests and faults kept for {@link #requests()} and {@link #injected()}; a soak keeps none.
   */
  private volatile int keep = 100_000;

  private volatile long delayMillis;

  /**
   * Requests retained to be passed on (by identity: equal requests may both be in flight); one
   * still unreleased when the injector closes (held back by a delay, or its upstream connect never
   * completed) is released by {@link #close()}.
   */
  private final Set<FullHttpRequest> inFlight =
      Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

  /**
   * @param registryAddress the registry's {@code host:port}
   * @param tokenRealm its token service's realm URL, or null for a registry without one
   */
  public FaultInjector(String registryAddress, String tokenRealm) {
    this(registryAddress, tokenRealm, 1);
  }

  /** As above, with the seed of the random that {@link Rule#sometimes} draws from. */
  public FaultInjector(String registryAddress, String tokenRealm, long seed) {
    this.random = new Random(seed);
    this.registry = address(URI.create("http://" + registryAddress));
    this.tokenRealm = tokenRealm;
    this.tokens = tokenRealm == null ? null : address(URI.create(tokenRealm));
    this.server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(64 << 20))
                        .addLast(new Frontend());
                  }
                })
            .bind("127.0.0.1", 0)
            .syncUninterruptibly()
            .channel();
  }

  private static InetSocketAddress address(URI u) {
    return new InetSocketAddress(u.getHost(), u.getPort());
  }

  /** {@code 127.0.0.1:PORT}: where clients go instead of the registry. */
  public String address() {
    return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
  }

  public FaultInjector add(Rule rule) {
    rules.add(rule);
    return this;
  }

  /**
   * Holds back every request matching {@code method} and {@code targetRegex} (a registry that has
   * not answered yet) until {@link Hold#release()}: a test can then check what happened while it
   * was held, without guessing how long that takes.
   */
  public Hold hold(String method, String targetRegex) {
    Hold h = new Hold(method, Pattern.compile(targetRegex));
    holds.add(h);
    return h;
  }

  private final List<Hold> holds = new CopyOnWriteArrayList<>();

  /** Requests held back by {@link #hold} until released. */
  public final class Hold {
    private final String method;
    private final Pattern target;
    private final List<Runnable> parked = new ArrayList<>();
    private final Semaphore arrivals = new Semaphore(0);
    private boolean released;

    private Hold(String method, Pattern target) {
      this.method = method;
      this.target = target;
    }

    boolean matches(String m, String uri) {
      return method.equals(m) && target.matcher(uri).find();
    }

    /** Parks {@code forward}, or runs it when already released. */
    void park(Runnable forward) {
      synchronized (this) {
        if (!released) {
          parked.add(forward);
          arrivals.release();
          return;
        }
      }
      forward.run();
    }

    /** Waits (at most {@code timeout}) until a matching request is held; false when none came. */
    public boolean awaitHeld(Duration timeout) throws InterruptedException {
      if (arrivals.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        arrivals.release();
        return true;
      }
      return false;
    }

    /** How many requests are held now. */
    public synchronized int held() {
      return parked.size();
    }

    /** Passes on what is held, and everything matching from now on. */
    public void release() {
      List<Runnable> now;
      synchronized (this) {
        released = true;
        now = List.copyOf(parked);
        parked.clear();
      }
      holds.remove(this);
      now.forEach(Runnable::run);
    }
  }

  /** Holds every request passed on this long first: a slow registry. */
  public FaultInjector delay(long millis) {
    this.delayMillis = millis;
    return this;
  }

  /** No more faults: everything passes from now on. */
  public void clear() {
    rules.clear();
  }

  /**
   * Keeps at most {@code max} requests and faults for {@link #requests()} and {@link #injected()}
   * (a long soak must not grow the heap it measures); {@link #injectedCount()} counts them all.
   */
  public FaultInjector keep(int max) {
    this.keep = max;
    return this;
  }

  /** How many requests were answered with a fault so far. */
  public int injectedCount() {
    return injectedCount.get();
  }

  /** The requests answered with a fault so far. */
  public List<Injected> injected() {
    return List.copyOf(injected);
  }

  /** Every request seen so far, as {@code METHOD target}. */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  private final class Frontend extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      String method = request.method().name();
      String uri = request.uri();
      if (requests.size() < keep) {
        requests.add(method + " " + uri);
      }
      Fault truncate = null;
      for (Rule rule : rules) {
        boolean applies;
        synchronized (random) {
          applies = rule.applies(method, uri, random);
        }
        if (applies) {
          injectedCount.incrementAndGet();
          if (injected.size() < keep) {
            injected.add(new Injected(method, uri, rule.fault()));
          }
          if (rule.fault() instanceof Fault.Truncate) {
            truncate = rule.fault();
            break;
          }
          if (rule.fault() instanceof Fault.Status s) {
            byte[] body =
                "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected fault\"}]}"
                    .getBytes(StandardCharsets.UTF_8);
            FullHttpResponse r =
                new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(s.code()),
                    Unpooled.wrappedBuffer(body));
            r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            for (int i = 0; i < s.headers().size(); i += 2) {
              r.headers().set(s.headers().get(i), s.headers().get(i + 1));
            }
            ctx.writeAndFlush(r);
          } else {
            ctx.close();
          }
          return;
        }
      }
      boolean token = tokens != null && uri.startsWith(URI.create(tokenRealm).getPath());
      Fault.Truncate cut = (Fault.Truncate) truncate;
      // Kept past this call: written to the upstream connection once that is open.
      FullHttpRequest forwarded = request.retainedDuplicate();
      inFlight.add(forwarded);
      for (Hold h : holds) {
        if (h.matches(method, uri)) {
          h.park(() -> ctx.executor().execute(() -> forward(ctx, forwarded, token, cut)));
          return;
        }
      }
      long delay = delayMillis;
      if (delay > 0) {
        ctx.executor()
            .schedule(() -> forward(ctx, forwarded, token, cut), delay, TimeUnit.MILLISECONDS);
      } else {
        forward(ctx, forwarded, token, cut);
      }
    }

    private void forward(
        ChannelHandlerContext ctx, FullHttpRequest forwarded, boolean token, Fault.Truncate cut) {
      new Bootstrap()
          .group(ctx.channel().eventLoop())
          .channel(NioSocketChannel.class)
          .handler(
              new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                  ch.pipeline()
                      .addLast(new HttpClientCodec())
                      .addLast(new HttpObjectAggregator(64 << 20))
                      .addLast(
                          new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(
                                ChannelHandlerContext upstream, FullHttpResponse response) {
                              if (cut != null && response.content().readableBytes() > 1) {
                                int keep =
                                    (int) (response.content().readableBytes() * cut.fraction());
                                DefaultHttpResponse head =
                                    new DefaultHttpResponse(
                                        response.protocolVersion(),
                                        response.status(),
                                        response.headers());
                                HttpUtil.setContentLength(head, response.content().readableBytes());
                                ctx.write(head);
                                ctx.writeAndFlush(response.content().retainedSlice(0, keep))
                                    .addListener(ChannelFutureListener.CLOSE);
                                upstream.close();
                                return;
                              }
                              FullHttpResponse r = response.retainedDuplicate();
                              String challenge = r.headers().get(HttpHeaderNames.WWW_AUTHENTICATE);
                              if (challenge != null && tokenRealm != null) {
                                r.headers()
                                    .set(
                                        HttpHeaderNames.WWW_AUTHENTICATE,
                                        challenge.replace(
                                            tokenRealm,
                                            "http://"
                                                + address()
                                                + URI.create(tokenRealm).getPath()));
                              }
                              ctx.writeAndFlush(r);
                              upstream.close();
                            }
                          });
                }
              })
          .connect(token ? tokens : registry)
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    if (f.isSuccess()) {
                      // Written or failed, the codec has released it.
                      f.channel()
                          .writeAndFlush(forwarded)
                          .addListener(w -> inFlight.remove(forwarded));
                    } else {
                      inFlight.remove(forwarded);
                      forwarded.release();
                      ctx.close();
                    }
                  });
    }
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    // The loop has ended: nothing else touches these any more.
    for (FullHttpRequest r : List.copyOf(inFlight)) {
      if (r.refCnt() > 0) {
        r.release();
      }
    }
    inFlight.clear();
  }
}
