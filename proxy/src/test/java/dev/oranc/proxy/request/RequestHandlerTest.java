package dev.oranc.proxy.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.proxy.error.RequestRejected;
import dev.oranc.proxy.route.Route;
import dev.oranc.proxy.s3.S3Rejected;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The skeleton's promises ({@link RequestHandler}'s design note), on a handler that does nothing
 * but record what it is told: a body is handed on until the answer and released after it, an error
 * while the body arrives fails the request once, a request ends once however it ends, and a throw
 * in a callback before the answer becomes the answer.
 */
class RequestHandlerTest {

  /** Takes every banner request; {@code answerAtOnce} answers it in {@code start}. */
  private static final class Recorder extends RequestHandler {
    final boolean answerAtOnce;
    final List<String> events = new ArrayList<>();
    final List<HttpContent> bodies = new ArrayList<>();
    Recording last;

    Recorder(boolean answerAtOnce) {
      super(LoggerFactory.getLogger(RequestHandlerTest.class));
      this.answerAtOnce = answerAtOnce;
    }

    @Override
    protected Request accept(ChannelHandlerContext ctx, RoutedRequest routed) {
      if (!(routed.route() instanceof Route.Banner)) {
        return null;
      }
      last = new Recording(ctx, routed);
      return last;
    }

    final class Recording extends Request {
      Recording(ChannelHandlerContext ctx, RoutedRequest routed) {
        super(ctx, routed.request());
      }

      @Override
      protected void start() {
        events.add("start");
        if (answerAtOnce) {
          respond(Responses.empty(HttpResponseStatus.OK));
        }
      }

      @Override
      protected void body(HttpContent content, boolean last) {
        events.add(last ? "body-last" : "body");
        bodies.add(content); // released by the test
      }

      @Override
      protected void bodyFailed(Throwable cause) {
        events.add("body-failed");
      }

      @Override
      protected void clientGone() {
        events.add("client-gone");
      }

      @Override
      protected void ended() {
        events.add("ended");
      }
    }
  }

  /** What reaches the end of the pipeline: errors, and messages passed on. */
  private static final class Tail extends ChannelInboundHandlerAdapter {
    final List<Throwable> errors = new ArrayList<>();

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      errors.add(cause);
    }
  }

  private EmbeddedChannel channel;

  @AfterEach
  void tearDown() {
    if (channel != null) {
      channel.finishAndReleaseAll();
    }
  }

  private static RoutedRequest routed(Route route) {
    return new RoutedRequest(
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"), route);
  }

  private static HttpContent piece(String s) {
    return new DefaultHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
  }

  @Test
  void aHeadNotTakenPassesOn() {
    Recorder handler = new Recorder(true);
    channel = new EmbeddedChannel(handler);
    RoutedRequest other = routed(new Route.Health());
    channel.writeInbound(other);
    assertSame(other, channel.readInbound());
    assertTrue(handler.events.isEmpty());
  }

  @Test
  void theBodyAfterTheAnswerIsReleasedHereAndTheRequestEndsOnce() {
    Recorder handler = new Recorder(true);
    Tail tail = new Tail();
    channel = new EmbeddedChannel(handler, tail);
    channel.writeInbound(routed(new Route.Banner()));
    FullHttpResponse answer = channel.readOutbound();
    assertEquals(HttpResponseStatus.OK, answer.status());
    answer.release();
    HttpContent piece = piece("abc");
    HttpContent end =
        new DefaultLastHttpContent(Unpooled.copiedBuffer("d", StandardCharsets.US_ASCII));
    channel.writeInbound(piece, end);
    assertEquals(0, piece.refCnt());
    assertEquals(0, end.refCnt());
    assertNull(channel.readInbound(), "nothing of the body passes on");
    channel.close();
    assertEquals(List.of("start", "ended"), handler.events, "ended once; the client left after it");
    assertTrue(tail.errors.isEmpty());
  }

  @Test
  void theBodyGoesToTheRequestUntilItsEndThenMessagesPassOn() {
    Recorder handler = new Recorder(false);
    channel = new EmbeddedChannel(handler);
    channel.writeInbound(routed(new Route.Banner()), piece("a"), new DefaultLastHttpContent());
    assertEquals(List.of("start", "body", "body-last"), handler.events);
    handler.bodies.forEach(HttpContent::release);
    HttpContent after = piece("next");
    channel.writeInbound(after);
    assertSame(after, channel.readInbound());
    after.release();
  }

  @Test
  void anErrorWhileTheBodyArrivesFailsTheRequestOnce() {
    Recorder handler = new Recorder(false);
    Tail tail = new Tail();
    channel = new EmbeddedChannel(handler, tail);
    channel.writeInbound(routed(new Route.Banner()));
    S3Rejected refused = new S3Rejected.IncompleteBody("the framing is broken");
    channel.pipeline().fireExceptionCaught(refused);
    assertEquals(List.of("start", "body-failed", "ended"), handler.events);
    assertEquals(List.of(refused), tail.errors);
    // The answer the handler was about to give is dropped: the error is the answer.
    FullHttpResponse late = Responses.text(HttpResponseStatus.OK, "too late");
    handler.last.respond(late);
    assertEquals(0, late.refCnt());
    assertNull(channel.readOutbound());
    channel.close();
    assertEquals(
        List.of("start", "body-failed", "ended"), handler.events, "no client-gone after the end");
  }

  @Test
  void aRefusalAfterTheAnswerIsDroppedAndAnyOtherErrorPassesOn() {
    Tail tail = new Tail();
    channel = new EmbeddedChannel(new Recorder(true), tail);
    channel.writeInbound(routed(new Route.Banner()));
    ((FullHttpResponse) channel.readOutbound()).release();
    channel.pipeline().fireExceptionCaught(new S3Rejected.IncompleteBody("late"));
    assertTrue(tail.errors.isEmpty(), "the refused body was answered already");

    Tail tail2 = new Tail();
    channel.finishAndReleaseAll();
    channel = new EmbeddedChannel(new Recorder(true), tail2);
    channel.writeInbound(routed(new Route.Banner()));
    ((FullHttpResponse) channel.readOutbound()).release();
    IOException reset = new IOException("connection reset");
    channel.pipeline().fireExceptionCaught(reset);
    assertEquals(List.of(reset), tail2.errors);

    // Only the S3 body filters' refusals are dropped: a RequestRejected (a decoder failure in the
    // body) still passes on, to close the connection.
    Tail tail3 = new Tail();
    channel.finishAndReleaseAll();
    channel = new EmbeddedChannel(new Recorder(true), tail3);
    channel.writeInbound(routed(new Route.Banner()));
    ((FullHttpResponse) channel.readOutbound()).release();
    RequestRejected late = new RequestRejected.BadRequest("late");
    channel.pipeline().fireExceptionCaught(late);
    assertEquals(List.of(late), tail3.errors);
  }

  @Test
  void theClientGoneBeforeTheAnswerEndsTheRequestOnce() {
    Recorder handler = new Recorder(false);
    Tail tail = new Tail();
    channel = new EmbeddedChannel(handler, tail);
    channel.writeInbound(routed(new Route.Banner()), piece("a"));
    handler.bodies.forEach(HttpContent::release);
    channel.close();
    assertEquals(List.of("start", "body", "client-gone", "ended"), handler.events);
    assertTrue(handler.last.isAnswered());
    assertTrue(tail.errors.isEmpty());
  }

  @Test
  void aThrowInACallbackBeforeTheAnswerBecomesTheAnswerAndAfterItIsOnlyLogged() {
    Recorder handler = new Recorder(false);
    Tail tail = new Tail();
    channel = new EmbeddedChannel(handler, tail);
    channel.writeInbound(routed(new Route.Banner()), new DefaultLastHttpContent());
    handler.bodies.forEach(HttpContent::release);
    IllegalStateException bug = new IllegalStateException("a bug in a callback");
    handler.last.onLoop(
        () -> {
          throw bug;
        });
    channel.runPendingTasks();
    assertEquals(List.of(bug), tail.errors);
    assertTrue(handler.last.isAnswered());
    handler.last.onLoop(
        () -> {
          throw new IllegalStateException("after the answer");
        });
    channel.runPendingTasks();
    assertEquals(List.of(bug), tail.errors, "nothing more goes down the pipeline");
    assertEquals(List.of("start", "body-last", "ended"), handler.events);
  }

  @Test
  void throttlePausesReadingUntilTheSinkDrainsAndTheEndResumesIt() {
    Recorder handler = new Recorder(false);
    Tail tail = new Tail();
    channel = new EmbeddedChannel(handler, tail);
    channel.writeInbound(routed(new Route.Banner()));
    List<Runnable> waiting = new ArrayList<>();
    handler.last.throttle(false, waiting::add);
    assertFalse(channel.config().isAutoRead());
    handler.last.throttle(false, waiting::add);
    assertEquals(1, waiting.size(), "paused once, one wake-up");
    waiting.get(0).run();
    channel.runPendingTasks();
    assertTrue(channel.config().isAutoRead());

    handler.last.throttle(false, r -> {});
    assertFalse(channel.config().isAutoRead());
    handler.last.answerWith(new IOException("gone"));
    assertTrue(channel.config().isAutoRead(), "a request that ends holds reading back no longer");
    assertEquals(1, tail.errors.size());
    handler.last.throttle(false, waiting::add);
    assertTrue(channel.config().isAutoRead(), "nor pauses it after its end");
  }
}
