package dev.oranc.proxy.request;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/** Small complete responses: text, XML, empty. Public for both faces ({@code http}, {@code s3}). */
public final class Responses {

  public static final String TEXT = "text/plain; charset=utf-8";
  public static final String XML = "application/xml";

  private Responses() {}

  static FullHttpResponse text(HttpResponseStatus status, String body) {
    return full(status, TEXT, body.getBytes(StandardCharsets.UTF_8), false);
  }

  public static FullHttpResponse full(
      HttpResponseStatus status, String contentType, byte[] body, boolean head) {
    // A HEAD answer says how long the body would be, and has none.
    ByteBuf content = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    if (contentType != null) {
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    }
    return r;
  }

  public static FullHttpResponse empty(HttpResponseStatus status) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    return r;
  }
}
