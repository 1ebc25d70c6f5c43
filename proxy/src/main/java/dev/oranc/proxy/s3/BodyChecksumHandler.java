package dev.oranc.proxy.s3;

import dev.oranc.proxy.request.Exchange;
import dev.oranc.proxy.request.RoutedRequest;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Verifies the body of an S3 upload against the checksums its request carries ({@link
 * BodyChecksums}: {@code Content-MD5}, a hex {@code x-amz-content-sha256}, {@code x-amz-checksum-*}
 * in the headers or in the aws-chunked trailer), computed as the bytes pass.
 *
 * <p>The last content goes on only when every checksum matches; otherwise a {@link
 * S3Rejected.BadDigest} goes down the pipeline in its place, the upload aborts on it and nothing is
 * published. The body's MD5 is left in the {@link Exchange} for the ETag. Requests that are not
 * S3-signed PUTs pass untouched.
 */
public final class BodyChecksumHandler extends S3BodyFilter<BodyChecksums> {

  @Override
  BodyChecksums start(RoutedRequest routed) {
    return routed.isS3Upload() ? new BodyChecksums(routed.request().headers()) : null;
  }

  @Override
  void content(ChannelHandlerContext ctx, BodyChecksums sums, HttpContent content, boolean last) {
    sums.update(content.content());
    if (!last) {
      ctx.fireChannelRead(content);
      return;
    }
    try {
      sums.verify(((LastHttpContent) content).trailingHeaders());
    } catch (S3Rejected e) {
      reject(ctx, content, true, e);
      return;
    }
    Exchange.recordBodyMd5(ctx.channel(), sums.md5());
    ctx.fireChannelRead(content);
  }
}
