package dev.oranc.proxy.http;

import dev.oranc.proxy.s3.BodyChecksums;
import dev.oranc.proxy.s3.S3Rejected;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Verifies the body of an S3 upload against the checksums its request carries ({@link
 * BodyChecksums}: {@code Content-MD5}, a hex {@code x-amz-content-sha256}, {@code
 * x-amz-checksum-*} in the headers or in the aws-chunked trailer), computed as the bytes pass.
 *
 * <p>The last content goes on only when every checksum matches; otherwise a {@link
 * S3Rejected.BadDigest} goes down the pipeline in its place, the upload aborts on it and nothing
 * is published. The body's MD5 is left in the {@link Exchange} for the ETag. Requests that are not
 * S3-signed PUTs pass untouched.
 */
final class BodyChecksumHandler extends ChannelInboundHandlerAdapter {

  private BodyChecksums sums;
  private boolean discarding;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof RoutedRequest routed) {
      sums = null;
      discarding = false;
      if (routed.isS3Upload()) {
        try {
          sums = new BodyChecksums(routed.request().headers());
        } catch (S3Rejected e) {
          discarding = true;
          ctx.fireExceptionCaught(e);
          return;
        }
      }
      ctx.fireChannelRead(msg);
      return;
    }
    if (!(msg instanceof HttpContent content) || (sums == null && !discarding)) {
      ctx.fireChannelRead(msg);
      return;
    }
    boolean last = msg instanceof LastHttpContent;
    if (discarding) {
      content.release();
      discarding = !last;
      return;
    }
    sums.update(content.content());
    if (!last) {
      ctx.fireChannelRead(msg);
      return;
    }
    BodyChecksums done = sums;
    sums = null;
    try {
      done.verify(((LastHttpContent) msg).trailingHeaders());
    } catch (S3Rejected e) {
      content.release();
      ctx.fireExceptionCaught(e);
      return;
    }
    Exchange exchange = Exchange.current(ctx.channel());
    if (exchange != null) {
      exchange.bodyMd5 = done.md5();
    }
    ctx.fireChannelRead(msg);
  }
}
