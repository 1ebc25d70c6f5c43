package dev.oranc.common.registry;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import dev.oranc.common.net.Transport;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A registry that misbehaves on purpose, for fault injection only: each request goes to a
 * {@link Behaviour} that answers, stalls, truncates or hangs up. The happy path is always tested
 * against the real registry.
 */
final class FakeRegistry implements AutoCloseable {

  record Request(String method, String uri, io.netty.handler.codec.http.HttpHeaders headers, byte[] body) {}

  /** Decides what happens to one request; {@code n} counts requests from 1. */
  interface Behaviour {
    void handle(int n, Request request, Reply reply);
  }

  /** What a behaviour can do with a request. */
  static final class Reply {
    private final ChannelHandlerContext ctx;

    Reply(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    void send(int status, String contentType, byte[] body, String... headerPairs) {
      DefaultFullHttpResponse r =
          new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
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

    void send(int status, String body, String... headerPairs) {
      send(status, "application/json", body.getBytes(StandardCharsets.UTF_8), headerPairs);
    }

    /** Announces {@code contentLength} bytes, sends {@code partial}, then closes. */
    void truncate(int status, long contentLength, byte[] partial) {
      DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, contentLength);
      ctx.write(r);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(partial)).addListener(ChannelFutureListener.CLOSE);
    }

    /** Announces {@code contentLength} bytes, sends {@code partial}, then says nothing more. */
    void stallMidBody(int status, long contentLength, byte[] partial) {
      DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, contentLength);
      ctx.write(r);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(partial));
    }

    /** Closes the connection without an answer. */
    void hangUp() {
      ctx.close();
    }

    /** Answers nothing, ever. */
    void stall() {}
  }

  private final EventLoopGroup group = Transport.newGroup(1, "fake-registry");
  private final Channel server;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private volatile Behaviour behaviour;

  FakeRegistry(Behaviour behaviour) {
    this(behaviour, null);
  }

  /** With {@code tls}, the fake speaks HTTPS with that server context. */
  FakeRegistry(Behaviour behaviour, io.netty.handler.ssl.SslContext tls) {
    this.behaviour = behaviour;
    this.server =
        new ServerBootstrap()
            .group(group)
            .channel(Transport.serverSocketChannel())
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    if (tls != null) {
                      ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                    }
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(16 << 20))
                        .addLast(
                            new SimpleChannelInboundHandler<FullHttpRequest>() {
                              @Override
                              protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
                                ByteBuf content = msg.content();
                                byte[] body = new byte[content.readableBytes()];
                                content.getBytes(content.readerIndex(), body);
                                Request r = new Request(msg.method().name(), msg.uri(), msg.headers().copy(), body);
                                requests.add(r);
                                FakeRegistry.this.behaviour.handle(requests.size(), r, new Reply(ctx));
                              }
                            });
                  }
                })
            .bind("127.0.0.1", 0)
            .syncUninterruptibly()
            .channel();
  }

  void behaviour(Behaviour b) {
    this.behaviour = b;
  }

  /** host:port, what a client is pointed at. */
  String address() {
    return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
  }

  List<Request> requests() {
    return requests;
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }
}
