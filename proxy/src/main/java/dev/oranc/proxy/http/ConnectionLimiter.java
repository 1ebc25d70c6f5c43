package dev.oranc.proxy.http;

import dev.oranc.common.net.RefusalWarnings;
import dev.oranc.proxy.metrics.ServerMetrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bound on client connections open at once ({@code --max-connections}). A connection over it
 * gets no HTTP pipeline at all: a fixed {@code 503} with {@code Retry-After} is written as it is
 * accepted, and it is closed. Nothing of the request is read, so a flood costs one small write per
 * connection (a client whose request is already on the wire may see a reset instead of the 503).
 *
 * <p>The refusal is logged at warn at most once per {@link RefusalWarnings#INTERVAL_NANOS}, with
 * how many were refused since the last warning: a flood must not become a flood of log lines.
 */
public final class ConnectionLimiter {

  private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);

  private final int max;
  private final ServerMetrics metrics;
  private final byte[] refusal;
  private final RefusalWarnings warnings = new RefusalWarnings();

  public ConnectionLimiter(int max, ServerMetrics metrics) {
    this.max = max;
    this.metrics = metrics;
    String body = "the server has too many connections open (" + max + "); retry later\n";
    this.refusal =
        ("HTTP/1.1 503 Service Unavailable\r\n"
                + "content-type: text/plain; charset=utf-8\r\n"
                + "content-length: "
                + body.length()
                + "\r\n"
                + "retry-after: 1\r\n"
                + "cache-control: "
                + CacheHeaders.NO_STORE
                + "\r\n"
                + "x-content-type-options: "
                + CacheHeaders.NOSNIFF
                + "\r\n"
                + "content-security-policy: "
                + CacheHeaders.SANDBOX
                + "\r\n"
                + "connection: close\r\n\r\n"
                + body)
            .getBytes(StandardCharsets.US_ASCII);
  }

  /** Whether a connection that makes {@code open} connections in all may be served. */
  public boolean admits(int open) {
    return open <= max;
  }

  /** The handler a refused connection gets instead of the HTTP pipeline. */
  public ChannelInboundHandlerAdapter refusal(int open) {
    metrics.connectionRefused();
    long unlogged = warnings.admit();
    if (unlogged >= 0) {
      log.warn(
          "refusing connections: {} open, the limit is {} (--max-connections); {} refused since the"
              + " last warning",
          open - 1,
          max,
          unlogged + 1);
    }
    return new Refusal();
  }

  private final class Refusal extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.writeAndFlush(Unpooled.wrappedBuffer(refusal)).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
