package dev.oranc.proxy.s3;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.function.Consumer;

/**
 * Reads the {@code aws-chunked} content encoding of S3 streaming uploads as the bytes arrive,
 * handing on the payload as slices of the buffers it was given (never copied, never gathered).
 *
 * <pre>
 * chunk   = hex-size [ ";chunk-signature=" sig ] CRLF data CRLF
 * last    = "0" [ ";chunk-signature=" sig ] CRLF
 * trailer = *( name ":" value CRLF )         (x-amz-checksum-crc32:…, x-amz-trailer-signature:…)
 * body    = *chunk last trailer CRLF
 * </pre>
 *
 * Used for {@code STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]} and {@code
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER} alike; chunk and trailer signatures are not checked (the
 * registry checks the password, SPEC §3). See the AWS documentation, "Signature calculations for
 * the Authorization header: Transferring payload in multiple chunks (chunked upload)" and "…
 * including trailing headers".
 *
 * <p>Framing that is broken (a size that is not hex, data not followed by CRLF, a trailer line
 * without a colon, bytes after the end, a line longer than {@value #MAX_LINE}) and a payload longer
 * than {@code x-amz-decoded-content-length} are {@link S3Rejected.IncompleteBody}. Not thread-safe:
 * one request, one event loop.
 */
public final class AwsChunkedParser {

  static final int MAX_LINE = 4096;
  private static final int MAX_TRAILER_BYTES = 16 * 1024;

  private enum State {
    SIZE,
    DATA,
    DATA_END,
    TRAILER,
    DONE
  }

  private final long declaredLength;
  private final StringBuilder line = new StringBuilder(96);
  private final HttpHeaders trailers = new DefaultHttpHeaders();
  private State state = State.SIZE;
  private long remaining;
  private int dataEndSeen;
  private long decoded;
  private int trailerBytes;

  /**
   * @param declaredLength {@code x-amz-decoded-content-length}, or -1 when not sent
   */
  public AwsChunkedParser(long declaredLength) {
    this.declaredLength = declaredLength;
  }

  /**
   * Reads what {@code in} holds (the caller keeps ownership of {@code in}); each piece of payload
   * goes to {@code out} as a retained slice, which {@code out} then owns.
   */
  public void feed(ByteBuf in, Consumer<ByteBuf> out) {
    while (in.isReadable()) {
      switch (state) {
        case SIZE -> {
          if (readLine(in)) {
            startChunk(line.toString());
            line.setLength(0);
          }
        }
        case DATA -> {
          int n = (int) Math.min(remaining, in.readableBytes());
          ByteBuf piece = in.retainedSlice(in.readerIndex(), n);
          in.skipBytes(n);
          remaining -= n;
          if (remaining == 0) {
            state = State.DATA_END;
            dataEndSeen = 0;
          }
          out.accept(piece);
        }
        case DATA_END -> {
          byte b = in.readByte();
          byte want = dataEndSeen == 0 ? (byte) '\r' : (byte) '\n';
          if (b != want) {
            throw broken("chunk data is not followed by CRLF");
          }
          if (++dataEndSeen == 2) {
            state = State.SIZE;
          }
        }
        case TRAILER -> {
          int before = in.readerIndex();
          boolean complete = readLine(in);
          trailerBytes += in.readerIndex() - before;
          if (trailerBytes > MAX_TRAILER_BYTES) {
            throw broken("the trailer is longer than " + MAX_TRAILER_BYTES + " bytes");
          }
          if (complete) {
            String l = line.toString();
            line.setLength(0);
            if (l.isEmpty()) {
              state = State.DONE;
            } else {
              int colon = l.indexOf(':');
              if (colon <= 0) {
                throw broken("a trailer line is not NAME:VALUE");
              }
              trailers.add(l.substring(0, colon).trim(), l.substring(colon + 1).trim());
            }
          }
        }
        case DONE -> throw broken("bytes follow the final chunk");
      }
    }
  }

  /**
   * The body has ended: checks that the final chunk (and the trailer's end) arrived and that the
   * payload has the announced length.
   */
  public void end() {
    // A trailer section whose closing empty line is missing is accepted: every line was whole.
    if (state == State.TRAILER && line.length() == 0) {
      state = State.DONE;
    }
    if (state != State.DONE) {
      throw new S3Rejected.IncompleteBody(
          "the aws-chunked body ended before its final chunk, after "
              + decoded
              + " bytes of payload");
    }
    if (declaredLength >= 0 && decoded != declaredLength) {
      throw new S3Rejected.IncompleteBody(
          "the aws-chunked body carried "
              + decoded
              + " bytes; x-amz-decoded-content-length says "
              + declaredLength);
    }
  }

  /** Payload bytes so far. */
  public long decoded() {
    return decoded;
  }

  /** The trailer's fields, once {@link #end()} has passed. */
  public HttpHeaders trailers() {
    return trailers;
  }

  private void startChunk(String sizeLine) {
    int semi = sizeLine.indexOf(';');
    String hex = (semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim();
    if (hex.isEmpty() || hex.length() > 15) {
      throw broken("chunk size '" + printable(hex) + "' is not a hex number");
    }
    long size;
    try {
      size = Long.parseLong(hex, 16);
    } catch (NumberFormatException e) {
      throw broken("chunk size '" + printable(hex) + "' is not a hex number");
    }
    if (size == 0) {
      state = State.TRAILER;
      return;
    }
    decoded += size;
    if (declaredLength >= 0 && decoded > declaredLength) {
      throw new S3Rejected.IncompleteBody(
          "the aws-chunked body carries more than the "
              + declaredLength
              + " bytes x-amz-decoded-content-length announced");
    }
    remaining = size;
    state = State.DATA;
  }

  /** Adds to the current line; true once its LF has been read (the line then lacks its CRLF). */
  private boolean readLine(ByteBuf in) {
    while (in.isReadable()) {
      char c = (char) (in.readByte() & 0xff);
      if (c == '\n') {
        int last = line.length() - 1;
        if (last >= 0 && line.charAt(last) == '\r') {
          line.setLength(last);
        }
        return true;
      }
      if (line.length() >= MAX_LINE) {
        throw broken("a chunk header or trailer line is longer than " + MAX_LINE + " bytes");
      }
      line.append(c);
    }
    return false;
  }

  private S3Rejected.IncompleteBody broken(String why) {
    return new S3Rejected.IncompleteBody(
        "malformed aws-chunked body: " + why + " (after " + decoded + " bytes of payload)");
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < 20; i++) {
      char c = s.charAt(i);
      b.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return b.toString();
  }
}
