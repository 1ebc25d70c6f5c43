package dev.oranc.common.registry;

import io.netty.handler.codec.http.HttpHeaders;

/**
 * A registry's complete answer: status, headers and the body collected in memory (bounded by the
 * call's {@code maxBody}). For a streamed 2xx answer, {@link #download} holds the body instead.
 */
record Response(int status, HttpHeaders headers, byte[] body, StreamingDownload download) {

  static final byte[] NO_BODY = new byte[0];

  boolean isSuccess() {
    return status >= 200 && status < 300;
  }
}
