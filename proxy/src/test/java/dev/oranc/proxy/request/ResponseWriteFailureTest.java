package dev.oranc.proxy.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.testkit.LogCapture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A write of a response that fails — here an encoder refusing it, as Netty's does a header value
 * with CR/LF — is observed whoever wrote it: the connection is closed (the client is not left
 * waiting) and the access-log line is still written, once, with the note {@code write-failed}.
 */
class ResponseWriteFailureTest {

  private LogCapture access;
  private EmbeddedChannel channel;

  /** Refuses every write, as an encoder does a message it cannot encode. */
  private static final class RefusingEncoder extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      ReferenceCountUtil.release(msg);
      promise.setFailure(new EncoderException("a header value holds CR/LF"));
    }
  }

  @BeforeEach
  void setUp() {
    access = LogCapture.of("dev.oranc.proxy.access");
    channel = new EmbeddedChannel(new RefusingEncoder(), new AccessLogHandler(new ServerMetrics()));
    channel.writeInbound(
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/r/o/c/k.narinfo"));
  }

  @AfterEach
  void tearDown() {
    access.close();
    channel.finishAndReleaseAll();
  }

  private List<String> lines() {
    return access.messages();
  }

  @Test
  void aRefusedCompleteAnswerClosesTheConnectionAndIsLoggedOnce() {
    channel.writeAndFlush(Responses.text(HttpResponseStatus.OK, "x"));
    channel.runPendingTasks();
    assertFalse(channel.isActive(), "the client would wait for ever on an open connection");
    assertEquals(1, lines().size(), lines().toString());
    assertTrue(lines().get(0).startsWith("GET /r/o/c/k.narinfo 200 "), lines().get(0));
    assertTrue(lines().get(0).endsWith(" write-failed"), lines().get(0));
    assertEquals(null, Exchange.current(channel));
  }

  @Test
  void aRefusedHeadOfAStreamClosesTheConnectionAndIsLoggedOnce() {
    channel.writeAndFlush(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    channel.runPendingTasks();
    assertFalse(channel.isActive());
    assertEquals(1, lines().size(), lines().toString());
    assertTrue(lines().get(0).endsWith(" write-failed"), lines().get(0));
  }
}
