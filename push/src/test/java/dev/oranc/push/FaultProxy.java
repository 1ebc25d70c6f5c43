package dev.oranc.push;

import dev.oranc.common.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;

/**
 * A proxy in front of the real registry that answers 500 to the requests a test picks and passes
 * everything else on, for fault injection only (the idea of common's {@code FakeRegistry}, with a
 * real registry behind it). Requests are aggregated: bodies are at most a PATCH chunk. The
 * {@code Host} header is passed on unchanged, so the registry's upload locations point back here.
 */
public final class FaultProxy implements AutoCloseable {

  record Failed(String method, String uri) {}

  private final EventLoopGroup group = Transport.newGroup(1, "fault-proxy");
  private final InetSocketAddress upstream;
  private final Channel server;
  private final List<Failed> failed = new CopyOnWriteArrayList<>();
  private volatile BiPredicate<String, String> fault = (method, uri) -> false;
  private volatile long delayMillis;

  public FaultProxy(String upstreamAddress) {
    int colon = upstreamAddress.lastIndexOf(':');
    this.upstream =
        new InetSocketAddress(upstreamAddress.substring(0, colon), Integer.parseInt(upstreamAddress.substring(colon + 1)));
    this.server =
        new ServerBootstrap()
            .group(group)
            .channel(Transport.serverSocketChannel())
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

  /** Requests for which {@code fault.test(method, uri)} holds are answered 500 from now on. */
  public void failWhen(BiPredicate<String, String> fault) {
    this.fault = fault;
  }

  /** Holds every request this long before passing it on: a slow registry. */
  void delay(long millis) {
    this.delayMillis = millis;
  }

  List<Failed> failed() {
    return failed;
  }

  public String address() {
    return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
  }

  /**
   * Requests retained to be forwarded (by identity: equal requests may both be in flight). One
   * still unreleased when the proxy closes (held back by a delay, or its upstream connect never
   * completed) is released by close().
   */
  private final java.util.Set<FullHttpRequest> inFlight =
      java.util.Collections.synchronizedSet(java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));

  private final class Frontend extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      if (fault.test(request.method().name(), request.uri())) {
        failed.add(new Failed(request.method().name(), request.uri()));
        byte[] body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected fault\"}]}".getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r =
            new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, HttpResponseStatus.INTERNAL_SERVER_ERROR, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json").setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        ctx.writeAndFlush(r);
        return;
      }
      // Kept past this call: it is written to the upstream connection once that is open.
      FullHttpRequest forwarded = request.retainedDuplicate();
      inFlight.add(forwarded);
      long delay = delayMillis;
      if (delay > 0) {
        ctx.executor().schedule(() -> forward(ctx, forwarded), delay, TimeUnit.MILLISECONDS);
      } else {
        forward(ctx, forwarded);
      }
    }

    private void forward(ChannelHandlerContext ctx, FullHttpRequest forwarded) {
      new Bootstrap()
          .group(ctx.channel().eventLoop())
          .channel(Transport.socketChannel())
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
                            protected void channelRead0(ChannelHandlerContext upstreamCtx, FullHttpResponse response) {
                              ctx.writeAndFlush(response.retainedDuplicate());
                              upstreamCtx.close();
                            }
                          });
                }
              })
          .connect(upstream)
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    if (f.isSuccess()) {
                      // Written or failed, the codec has released it.
                      f.channel().writeAndFlush(forwarded).addListener(w -> inFlight.remove(forwarded));
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
    // The loops have ended: nothing else touches these any more.
    for (FullHttpRequest r : List.copyOf(inFlight)) {
      if (r.refCnt() > 0) {
        r.release();
      }
    }
    inFlight.clear();
  }
}
