package dev.oranc.common.net;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The Netty transport: native epoll on Linux when its library loads, NIO otherwise. One choice per
 * process, so that every event loop group and every channel class agree ({@code EpollSocketChannel}
 * only runs on an epoll loop).
 *
 * <p>{@code -Doranc.transport=nio} forces NIO, for comparing the two or working around a native
 * problem.
 */
public final class Transport {

  private static final boolean NATIVE =
      !"nio".equalsIgnoreCase(System.getProperty("oranc.transport", "")) && Epoll.isAvailable();

  private Transport() {}

  /** {@code epoll} or {@code nio}. */
  public static String name() {
    return NATIVE ? "epoll" : "nio";
  }

  /** A group of {@code threads} event loops (0: one per core). */
  public static EventLoopGroup newGroup(int threads, String name) {
    if (threads == 0) {
      threads = Runtime.getRuntime().availableProcessors();
    }
    IoHandlerFactory factory = NATIVE ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
  }

  public static Class<? extends SocketChannel> socketChannel() {
    return NATIVE ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  public static Class<? extends ServerSocketChannel> serverSocketChannel() {
    return NATIVE ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }
}
