package dev.oranc.proxy.request;

import dev.oranc.common.layout.ImageLayout;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.Locale;

/**
 * The {@code Content-Type} and {@code Content-Encoding} a file is stored with: kept as layer
 * annotations and sent back as headers on GET, so a value that could not be sent back ({@link
 * ImageLayout#headerValueProblem}: not printable ASCII, or over 1 KiB) is refused before anything
 * is stored. Both faces store a file so, and read both from the request that starts it alike
 * ({@link #of}): a plain or S3 PUT ({@code http.UploadHandler}) and an S3 multipart upload's create
 * ({@code s3.MultipartHandler}).
 *
 * @param contentType never null: {@link ImageLayout#DEFAULT_CONTENT_TYPE} when the request gave
 *     none
 * @param contentEncoding null when the request gave none, or {@code identity}
 */
public record StoredHeaders(String contentType, String contentEncoding) {

  /**
   * What {@code request} says: its {@code Content-Type} trimmed ({@link
   * ImageLayout#DEFAULT_CONTENT_TYPE} when absent or blank), its {@code Content-Encoding} trimmed
   * (null when absent, empty or {@code identity}).
   */
  public static StoredHeaders of(HttpRequest request) {
    String type = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
    String encoding = request.headers().get(HttpHeaderNames.CONTENT_ENCODING);
    if (encoding != null) {
      encoding = encoding.trim();
      if (encoding.isEmpty() || encoding.equalsIgnoreCase("identity")) {
        encoding = null;
      }
    }
    return new StoredHeaders(
        type == null || type.isBlank() ? ImageLayout.DEFAULT_CONTENT_TYPE : type.trim(), encoding);
  }

  /** True when the encoding names {@code aws-chunked}: S3's framing of a body, not content. */
  public boolean awsChunked() {
    return contentEncoding != null
        && contentEncoding.toLowerCase(Locale.ROOT).contains("aws-chunked");
  }

  /** The same type, without an encoding. */
  public StoredHeaders withoutEncoding() {
    return new StoredHeaders(contentType, null);
  }

  /** Why these cannot be stored, naming the header, or null. */
  public String problem() {
    String problem = problem("Content-Type", contentType);
    return problem != null ? problem : problem("Content-Encoding", contentEncoding);
  }

  private static String problem(String name, String value) {
    String problem = ImageLayout.headerValueProblem(value);
    return problem == null
        ? null
        : name
            + " "
            + problem
            + ": only printable ASCII of at most "
            + ImageLayout.MAX_HEADER_VALUE
            + " characters can be stored and sent back";
  }
}
