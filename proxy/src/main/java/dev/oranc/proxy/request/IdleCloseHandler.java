package dev.oranc.proxy.request;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a connection on which nothing moved for the idle timeout — when it is the client we wait
 * on: an idle keep-alive connection, headers or a body that stopped arriving (slowloris), a
 * response the client stopped reading. Not while the server itself is waiting (on the registry, or
 * for an upload to drain): the registry client has its own timeouts for that.
 */
public final class IdleCloseHandler extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(IdleCloseHandler.class);

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      Exchange e = Exchange.current(ctx.channel());
      if (e == null || !e.waitingOnServer()) {
        if (e != null) {
          e.note = "idle";
          log.debug(
              "{}: closing, the client was idle in {} {}", ctx.channel().id(), e.method, e.path);
        }
        ctx.close();
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }
}
