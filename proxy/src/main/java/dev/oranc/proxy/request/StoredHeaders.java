package dev.oranc.proxy.request;

import dev.oranc.common.layout.ImageLayout;

/**
 * The {@code Content-Type} and {@code Content-Encoding} a file is stored with: kept as layer
 * annotations and sent back as headers on GET, so a value that could not be sent back ({@link
 * ImageLayout#headerValueProblem}: not printable ASCII, or over 1 KiB) is refused before anything
 * is stored. Both faces store a file so: a plain or S3 PUT ({@code http.UploadHandler}) and an S3
 * multipart upload ({@code s3.MultipartHandler}).
 */
public final class StoredHeaders {

  private StoredHeaders() {}

  /** Why {@code value} of header {@code name} cannot be stored, or null. */
  public static String problem(String name, String value) {
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
