package dev.oranc.common.registry;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.transport.HttpConnection;
import dev.oranc.common.registry.transport.ResponseListener;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import java.util.ArrayDeque;

/**
 * The body of a successful streamed answer, relayed from the connection to a {@link BlobConsumer}.
 *
 * <p>Reading stops as soon as the answer's head has arrived ({@code demand(false)}) and resumes on
 * {@link #start}. Bytes that came in the same read as the head are held until then — at most one
 * read's worth. Every state change runs on the connection's event loop.
 */
final class StreamingDownload implements BlobDownload, ResponseListener {

  private final HttpConnection connection;
  private final HttpResponse head;
  private final String operation;
  private final String url;
  private final EventLoop loop;

  private final ArrayDeque<ByteBuf> early = new ArrayDeque<>();
  private BlobConsumer consumer;
  private boolean ended;
  private Throwable failure;
  private boolean cancelled;
  private boolean paused;

  StreamingDownload(HttpConnection connection, HttpResponse head, String operation, String url) {
    this.connection = connection;
    this.head = head;
    this.operation = operation;
    this.url = url;
    this.loop = connection.channel().eventLoop();
    connection.demand(false);
    // The connection now reports the rest of this answer to us rather than to the call.
    connection.replaceListener(this);
  }

  @Override
  public int status() {
    return head.status().code();
  }

  @Override
  public HttpHeaders headers() {
    return head.headers();
  }

  @Override
  public long contentLength() {
    return HttpUtil.getContentLength(head, -1L);
  }

  @Override
  public EventLoop eventLoop() {
    return loop;
  }

  @Override
  public void start(BlobConsumer c) {
    onLoop(
        () -> {
          if (consumer != null) {
            throw new IllegalStateException("download of " + url + " already started");
          }
          consumer = c;
          if (cancelled) {
            return;
          }
          ByteBuf b;
          while ((b = early.poll()) != null) {
            c.onData(b);
          }
          if (failure != null) {
            c.onError(RegistryErrors.fromFailure(operation, failure));
          } else if (ended) {
            c.onComplete();
          } else if (!paused) {
            connection.demand(true);
          }
        });
  }

  @Override
  public void pause() {
    onLoop(
        () -> {
          paused = true;
          if (!ended && failure == null && !cancelled) {
            connection.demand(false);
          }
        });
  }

  @Override
  public void resume() {
    onLoop(
        () -> {
          paused = false;
          if (consumer != null && !ended && failure == null && !cancelled) {
            connection.demand(true);
          }
        });
  }

  @Override
  public void cancel() {
    onLoop(
        () -> {
          if (cancelled) {
            return;
          }
          cancelled = true;
          ByteBuf b;
          while ((b = early.poll()) != null) {
            b.release();
          }
          if (!ended && failure == null) {
            connection.abort();
          }
        });
  }

  @Override
  public void onHead(HttpResponse head) {
    // Not called: the head was taken before this listener was installed.
  }

  @Override
  public void onContent(ByteBuf content) {
    if (cancelled) {
      content.release();
    } else if (consumer == null) {
      early.add(content);
    } else {
      consumer.onData(content);
    }
  }

  @Override
  public void onEnd() {
    ended = true;
    if (consumer != null && !cancelled) {
      consumer.onComplete();
    }
  }

  @Override
  public void onError(Throwable cause) {
    failure = cause;
    if (consumer != null && !cancelled) {
      consumer.onError(
          cause instanceof RegistryException e
              ? e
              : RegistryErrors.fromFailure(operation + " (body)", cause));
    }
  }

  private void onLoop(Runnable r) {
    if (loop.inEventLoop()) {
      r.run();
    } else {
      loop.execute(r);
    }
  }
}
