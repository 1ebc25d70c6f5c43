package dev.oranc.proxy;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A client that writes exactly the bytes it is given and reads HTTP/1.1 responses byte by byte,
 * with a deadline on every read: for input no well-behaved client would send (non-UTF-8 paths,
 * conflicting framing headers, pipelined requests, half requests) and for telling "answered" from
 * "closed" from "hung".
 */
final class RawHttp implements AutoCloseable {

  /** One response: status, headers (lower-case names, first value wins), body; or how it ended. */
  record Response(int status, String statusLine, Map<String, String> headers, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    boolean closes() {
      return "close".equalsIgnoreCase(header("connection"));
    }

    @Override
    public String toString() {
      String t = text();
      return statusLine + " " + headers + " " + (t.length() > 300 ? t.substring(0, 300) + "…" : t);
    }
  }

  /** Thrown when nothing (more) came within the deadline: the server hung. */
  static final class Hung extends IOException {
    Hung(String what) {
      super(what);
    }
  }

  private final Socket socket;
  private final InputStream in;

  RawHttp(int port, int timeoutMillis) throws IOException {
    this(new Socket("127.0.0.1", port), timeoutMillis);
  }

  /** From a local address of choice (127.0.0.2 is another client to the server). */
  static RawHttp from(InetAddress local, int port, int timeoutMillis) throws IOException {
    return new RawHttp(
        new Socket(InetAddress.getByName("127.0.0.1"), port, local, 0), timeoutMillis);
  }

  private RawHttp(Socket socket, int timeoutMillis) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(timeoutMillis);
    socket.setTcpNoDelay(true);
    in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
  }

  RawHttp write(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
    return this;
  }

  RawHttp write(String latin1) throws IOException {
    return write(latin1.getBytes(StandardCharsets.ISO_8859_1));
  }

  /**
   * The next response (skipping {@code 100 Continue}), or null when the server closed the
   * connection before sending a status line.
   *
   * @param head true when it answers a HEAD request (no body follows whatever Content-Length says)
   */
  Response read(boolean head) throws IOException {
    while (true) {
      String statusLine = line();
      if (statusLine == null) {
        return null;
      }
      Map<String, String> headers = new LinkedHashMap<>();
      String h;
      while ((h = line()) != null && !h.isEmpty()) {
        int colon = h.indexOf(':');
        if (colon > 0) {
          headers.putIfAbsent(
              h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
        }
      }
      String[] parts = statusLine.split(" ", 3);
      int status = Integer.parseInt(parts[1]);
      if (status == 100) {
        continue;
      }
      byte[] body = new byte[0];
      String length = headers.get("content-length");
      if (!head && length != null) {
        body = exactly(Integer.parseInt(length));
      } else if (!head && "chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        throw new IOException("the server sent a chunked response; this client does not read them");
      }
      return new Response(status, statusLine, headers, body);
    }
  }

  Response read() throws IOException {
    return read(false);
  }

  /** Every response until the server closes (each read within the deadline). */
  List<Response> readAll() throws IOException {
    List<Response> all = new ArrayList<>();
    Response r;
    while ((r = read()) != null) {
      all.add(r);
    }
    return all;
  }

  /** True when the server closed the connection (EOF or reset) within the deadline. */
  boolean closedByServer() throws IOException {
    try {
      return in.read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  private byte[] exactly(int n) throws IOException {
    byte[] b = new byte[n];
    int off = 0;
    while (off < n) {
      int k;
      try {
        k = in.read(b, off, n - off);
      } catch (SocketTimeoutException e) {
        throw new Hung("the body stopped after " + off + " of " + n + " bytes");
      }
      if (k < 0) {
        throw new IOException("the connection closed after " + off + " of " + n + " body bytes");
      }
      off += k;
    }
    return b;
  }

  /** One CRLF-terminated line as Latin-1, or null at EOF before any byte. */
  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    while (true) {
      int c;
      try {
        c = in.read();
      } catch (SocketTimeoutException e) {
        throw new Hung(
            "no answer (or an unfinished one: '" + b.toString(StandardCharsets.ISO_8859_1) + "')");
      } catch (IOException reset) {
        if (b.size() == 0) {
          return null;
        }
        throw reset;
      }
      if (c < 0) {
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
      }
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
