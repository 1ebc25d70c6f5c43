package dev.oranc.proxy;

import dev.oranc.common.net.Transport;
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
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A registry that misbehaves on purpose, for fault injection only (the idea of common's test
 * {@code FakeRegistry}): each request goes to a {@link Behaviour}. The happy path is tested against
 * the real registry.
 */
final class FaultyRegistry implements AutoCloseable {

  interface Behaviour {
    void handle(String method, String uri, Reply reply);
  }

  static final class Reply {
    final ChannelHandlerContext ctx;

    Reply(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    void send(int status, String contentType, byte[] body, String... headers) {
      DefaultFullHttpResponse r = new DefaultFullHttpResponse(
          HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(body));
      r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
      if (contentType != null) {
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
      }
      for (int i = 0; i < headers.length; i += 2) {
        r.headers().add(headers[i], headers[i + 1]);
      }
      ctx.writeAndFlush(r);
    }

    void send(int status, String body, String... headers) {
      send(status, "application/json", body.getBytes(StandardCharsets.UTF_8), headers);
    }

    /** Announces {@code length} bytes, sends {@code partial}, then closes. */
    void truncate(long length, byte[] partial) {
      DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
      ctx.write(r);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(partial)).addListener(ChannelFutureListener.CLOSE);
    }

    /** Announces {@code length} bytes, sends {@code partial}, then nothing more. */
    void stallMidBody(long length, byte[] partial) {
      DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
      ctx.write(r);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(partial));
    }

    void stall() {}
  }

  private final EventLoopGroup group = Transport.newGroup(1, "faulty-registry");
  private final Channel server;
  final List<String> requests = new CopyOnWriteArrayList<>();
  /** Counts down each time a connection to the fake closes. */
  volatile CountDownLatch closes = new CountDownLatch(1);
  private volatile Behaviour behaviour;

  FaultyRegistry(Behaviour behaviour) {
    this.behaviour = behaviour;
    this.server = new ServerBootstrap()
        .group(group)
        .channel(Transport.serverSocketChannel())
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.closeFuture().addListener(f -> closes.countDown());
            ch.pipeline()
                .addLast(new HttpServerCodec())
                .addLast(new HttpObjectAggregator(1 << 20))
                .addLast(new SimpleChannelInboundHandler<FullHttpRequest>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
                    requests.add(msg.method().name() + " " + msg.uri());
                    FaultyRegistry.this.behaviour.handle(msg.method().name(), msg.uri(), new Reply(ctx));
                  }
                });
          }
        })
        .bind("127.0.0.1", 0)
        .syncUninterruptibly()
        .channel();
  }

  String address() {
    return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** A manifest with one octet-stream layer of {@code size} bytes (digest of 'b's). */
  static String manifest(long size, int layers) {
    StringBuilder l = new StringBuilder();
    for (int i = 0; i < layers; i++) {
      l.append(i == 0 ? "" : ",").append("{\"mediaType\":\"application/octet-stream\",\"digest\":\"sha256:")
          .append("b".repeat(64)).append("\",\"size\":").append(size)
          .append(",\"annotations\":{\"com.linyinfeng.oranc.content.type\":\"application/x-nix-nar\"}}");
    }
    return "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:"
        + "a".repeat(64) + "\",\"size\":2},\"layers\":[" + l + "]}";
  }

  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

  boolean awaitClose(long millis) throws InterruptedException {
    return closes.await(millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
