package dev.oranc.proxy.request;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * Whether a request comes from an S3 client: it carries a SigV4 {@code Authorization} header
 * ({@code AWS4-HMAC-SHA256 …}), any {@code x-amz-*} header, or a presigned URL's {@code
 * X-Amz-Signature}. Only such requests get the S3 behaviour (aws-chunked bodies, checksums, S3
 * error bodies); a plain HTTP client such as Nix's {@code http://} store sees none of it.
 */
public final class S3Request {

  private static final String SIGV4 = "aws4-hmac-sha256";

  private S3Request() {}

  public static boolean isSigned(HttpRequest request) {
    String auth = request.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (auth != null && auth.stripLeading().regionMatches(true, 0, SIGV4, 0, SIGV4.length())) {
      return true;
    }
    Iterator<Map.Entry<CharSequence, CharSequence>> it = request.headers().iteratorCharSequence();
    while (it.hasNext()) {
      CharSequence name = it.next().getKey();
      if (name.length() > 6 && name.subSequence(0, 6).toString().equalsIgnoreCase("x-amz-")) {
        return true;
      }
    }
    int q = request.uri().indexOf('?');
    return q >= 0
        && request.uri().substring(q).toLowerCase(Locale.ROOT).contains("x-amz-signature=");
  }
}
