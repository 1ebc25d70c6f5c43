package dev.oranc.proxy.s3;

import dev.oranc.proxy.request.RoutedRequest;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decodes the {@code aws-chunked} bodies of S3 uploads ({@link AwsChunkedParser}) into the plain
 * bytes, so the handlers after it see an ordinary body: slices of the received buffers (nothing is
 * copied or held), then a last content that carries the aws-chunked trailer ({@code
 * x-amz-checksum-crc32:…}) as its trailing headers, for {@link BodyChecksumHandler}.
 *
 * <p>Applies to S3-signed PUTs ({@link RoutedRequest#isS3Upload()}) with {@code Content-Encoding:
 * aws-chunked} or a {@code STREAMING-…} {@code x-amz-content-sha256}. The request's head is
 * rewritten to describe the decoded body: {@code aws-chunked} leaves {@code Content-Encoding}, and
 * {@code Content-Length} becomes {@code x-amz-decoded-content-length} (so the upload streams with a
 * known size), or the body is of unknown length when that is absent. Other requests pass untouched:
 * a plain client's aws-chunked body is still refused by the upload.
 *
 * <p>Broken framing, or a payload of another length than announced, is an {@link
 * S3Rejected.IncompleteBody}: the error goes down the pipeline (the upload aborts on it) instead of
 * the last content, so nothing is published, and the rest of the body is dropped.
 */
public final class AwsChunkedHandler extends S3BodyFilter<AwsChunkedParser> {

  static final String AWS_CHUNKED = "aws-chunked";
  static final String DECODED_LENGTH = "x-amz-decoded-content-length";

  @Override
  AwsChunkedParser start(RoutedRequest routed) {
    if (routed.isS3Upload() && isAwsChunked(routed.request().headers())) {
      return new AwsChunkedParser(rewrite(routed.request().headers()));
    }
    return null;
  }

  @Override
  void content(
      ChannelHandlerContext ctx, AwsChunkedParser parser, HttpContent content, boolean last) {
    try {
      parser.feed(content.content(), piece -> ctx.fireChannelRead(new DefaultHttpContent(piece)));
      if (last) {
        parser.end();
        HttpHeaders trailers = parser.trailers();
        trailers.add(((LastHttpContent) content).trailingHeaders());
        content.release();
        ctx.fireChannelRead(new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, trailers));
      } else {
        content.release();
      }
    } catch (S3Rejected e) {
      reject(ctx, content, last, e);
    }
  }

  static boolean isAwsChunked(HttpHeaders headers) {
    String encoding = headers.get(HttpHeaderNames.CONTENT_ENCODING);
    if (encoding != null && encoding.toLowerCase(Locale.ROOT).contains(AWS_CHUNKED)) {
      return true;
    }
    String payload = headers.get("x-amz-content-sha256");
    return payload != null && payload.trim().toUpperCase(Locale.ROOT).startsWith("STREAMING-");
  }

  /** Makes the head describe the decoded body; the decoded length, or -1. */
  private static long rewrite(HttpHeaders headers) {
    long declared = -1;
    String d = headers.get(DECODED_LENGTH);
    if (d != null) {
      try {
        declared = Long.parseLong(d.trim());
      } catch (NumberFormatException e) {
        declared = -2;
      }
      if (declared < 0) {
        throw new S3Rejected.IncompleteBody(DECODED_LENGTH + " is not a length");
      }
    }
    String encoding = headers.get(HttpHeaderNames.CONTENT_ENCODING);
    if (encoding != null) {
      List<String> rest = new ArrayList<>();
      for (String token : encoding.split(",")) {
        String t = token.trim();
        if (!t.isEmpty() && !t.equalsIgnoreCase(AWS_CHUNKED)) {
          rest.add(t);
        }
      }
      if (rest.isEmpty()) {
        headers.remove(HttpHeaderNames.CONTENT_ENCODING);
      } else {
        headers.set(HttpHeaderNames.CONTENT_ENCODING, String.join(",", rest));
      }
    }
    if (declared >= 0) {
      headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
      headers.set(HttpHeaderNames.CONTENT_LENGTH, declared);
    } else {
      headers.remove(HttpHeaderNames.CONTENT_LENGTH);
      headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    return declared;
  }
}
