package dev.oranc.testkit;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A registry that misbehaves on purpose, for fault injection only: each request goes to a {@link
 * Behaviour} that answers, stalls, truncates or hangs up. The happy path is always tested against
 * the real {@link Registry}; this stands in where a real registry cannot be made to misbehave (a
 * body cut off, a stall mid-body, a manifest no registry would store).
 *
 * <p>One stand-in for both the client's tests (common) and the server's (proxy): a behaviour sees
 * the request's number, method, target, headers and body ({@link Behaviour}), or only method and
 * target ({@link #byTarget}). Requests are aggregated up to 16 MiB: for tests, not gigabytes.
 */
public final class FakeRegistry implements AutoCloseable {

  /** The OCI image manifest media type, what a fake answers manifests with. */
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

  /** One request as the fake read it. */
  public record Request(String method, String uri, HttpHeaders headers, byte[] body) {
    /** {@code METHOD target}, as failure messages show a request. */
    public String line() {
      return method + " " + uri;
    }

    @Override
    public String toString() {
      return line();
    }
  }

  /** Decides what happens to one request; {@code n} counts requests from 1. */
  @FunctionalInterface
  public interface Behaviour {
    void handle(int n, Request request, Reply reply);
  }

  /** A behaviour that looks only at the method and the target. */
  @FunctionalInterface
  public interface ByTarget {
    void handle(String method, String uri, Reply reply);
  }

  /** What a behaviour can do with a request. */
  public static final class Reply {
    private final ChannelHandlerContext ctx;

    Reply(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    /** A whole answer; {@code headerPairs} are name, value, name, value… */
    public void send(int status, String contentType, byte[] body, String... headerPairs) {
      DefaultFullHttpResponse r =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(status),
              Unpooled.wrappedBuffer(body));
      r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
      if (contentType != null) {
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
      }
      for (int i = 0; i < headerPairs.length; i += 2) {
        r.headers().add(headerPairs[i], headerPairs[i + 1]);
      }
      ctx.writeAndFlush(r);
    }

    /** A JSON answer. */
    public void send(int status, String body, String... headerPairs) {
      send(status, "application/json", body.getBytes(StandardCharsets.UTF_8), headerPairs);
    }

    /** Announces {@code contentLength} bytes, sends {@code partial}, then closes. */
    public void truncate(int status, long contentLength, byte[] partial) {
      head(status, contentLength);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(partial)).addListener(ChannelFutureListener.CLOSE);
    }

    /** A 200 that announces {@code contentLength} bytes, sends {@code partial}, then closes. */
    public void truncate(long contentLength, byte[] partial) {
      truncate(200, contentLength, partial);
    }

    /** Announces {@code contentLength} bytes, sends {@code partial}, then says nothing more. */
    public void stallMidBody(int status, long contentLength, byte[] partial) {
      head(status, contentLength);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(partial));
    }

    /** A 200 that announces {@code contentLength} bytes, sends {@code partial}, then stalls. */
    public void stallMidBody(long contentLength, byte[] partial) {
      stallMidBody(200, contentLength, partial);
    }

    /** Closes the connection without an answer. */
    public void hangUp() {
      ctx.close();
    }

    /** Answers nothing, ever. */
    public void stall() {}

    private void head(int status, long contentLength) {
      DefaultHttpResponse r =
          new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, contentLength);
      ctx.write(r);
    }
  }

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(
          1, new DefaultThreadFactory("fake-registry", true), NioIoHandler.newFactory());
  private final Channel server;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger count = new AtomicInteger();
  private volatile CountDownLatch closes = new CountDownLatch(1);
  private volatile Behaviour behaviour;

  /** A plain-HTTP fake on a free loopback port. */
  public FakeRegistry(Behaviour behaviour) {
    this(behaviour, null);
  }

  /** With {@code tls}, the fake speaks HTTPS with that server context. */
  public FakeRegistry(Behaviour behaviour, SslContext tls) {
    this.behaviour = behaviour;
    this.server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.closeFuture().addListener(f -> closes.countDown());
                    if (tls != null) {
                      ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                    }
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(16 << 20))
                        .addLast(new Handler());
                  }
                })
            .bind("127.0.0.1", 0)
            .syncUninterruptibly()
            .channel();
  }

  /** A plain-HTTP fake whose behaviour looks only at the method and the target. */
  public static FakeRegistry byTarget(ByTarget behaviour) {
    return new FakeRegistry(byTargetBehaviour(behaviour));
  }

  /** {@code behaviour} as a {@link Behaviour}. */
  public static Behaviour byTargetBehaviour(ByTarget behaviour) {
    return (n, request, reply) -> behaviour.handle(request.method(), request.uri(), reply);
  }

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
      ByteBuf content = msg.content();
      byte[] body = new byte[content.readableBytes()];
      content.getBytes(content.readerIndex(), body);
      Request r = new Request(msg.method().name(), msg.uri(), msg.headers().copy(), body);
      requests.add(r);
      behaviour.handle(count.incrementAndGet(), r, new Reply(ctx));
    }
  }

  /** Replaces the behaviour for the requests to come. */
  public void behaviour(Behaviour b) {
    this.behaviour = b;
  }

  /** host:port, what a client is pointed at. */
  public String address() {
    return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Every request so far (live view), oldest first. */
  public List<Request> requests() {
    return requests;
  }

  /** {@code METHOD target} of every request so far, oldest first. */
  public List<String> requestLines() {
    return requests.stream().map(Request::line).toList();
  }

  /** Forgets the requests so far; {@code n} goes on counting. */
  public void clearRequests() {
    requests.clear();
  }

  /** From now on, {@link #awaitClose} waits for the next connection to close. */
  public void watchCloses() {
    closes = new CountDownLatch(1);
  }

  /** Waits up to {@code millis} for a connection to close (since {@link #watchCloses}). */
  public boolean awaitClose(long millis) throws InterruptedException {
    return closes.await(millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
