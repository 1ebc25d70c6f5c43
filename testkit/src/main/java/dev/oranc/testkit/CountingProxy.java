package dev.oranc.testkit;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/1.1 pass-through on a loopback port that forwards bytes unchanged to the registry and
 * records every request: method, target, request payload size, status, response payload size.
 *
 * <p>Why a proxy and not only the registry's access log: distribution logs neither request sizes
 * (so "the second upload sent no body" is invisible) nor does it write its log line before the
 * response leaves in every case. Here a request is recorded before its first byte is forwarded and
 * its status before the response is, so once a client has its response the record is complete.
 *
 * <p>It parses just enough HTTP/1.1 to find message boundaries on a persistent connection: requests
 * by {@code Content-Length} or chunked framing, responses likewise, plus no body for HEAD, 1xx, 204
 * and 304, and read-to-close otherwise. Interim 1xx responses ({@code 100 Continue}) are forwarded
 * without ending the exchange. The {@code Host} header is forwarded as is, so the registry's {@code
 * Location} URLs point back at the proxy. No TLS, no HTTP/2, no upgrades.
 *
 * <p>Two threads per connection, blocking I/O: this is for tests on loopback, not throughput.
 */
final class CountingProxy implements AutoCloseable {

  private static final int MAX_HEAD = 64 * 1024;
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

  private final InetSocketAddress upstream;
  private final ServerSocket server;
  private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger connections = new AtomicInteger();
  private volatile boolean closed;

  CountingProxy(InetSocketAddress upstream) throws IOException {
    this.upstream = upstream;
    this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    daemon("oranc-testkit-proxy-accept-" + server.getLocalPort(), this::acceptLoop).start();
  }

  int port() {
    return server.getLocalPort();
  }

  List<ProxiedRequest> requests() {
    return exchanges.stream().map(Exchange::snapshot).toList();
  }

  /**
   * When each request's head reached the proxy and when its final response head did ({@link
   * System#nanoTime()}; 0 when no response came), in the order of {@link #requests()}: for the WAN
   * benchmarks' estimate of the round trips a client waited on in series.
   */
  record Timing(long arrivedNanos, long answeredNanos) {}

  List<Timing> timings() {
    return exchanges.stream().map(e -> new Timing(e.arrivedNanos, e.answeredNanos)).toList();
  }

  /** Connections accepted so far. */
  int connections() {
    return connections.get();
  }

  void reset() {
    exchanges.clear();
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      connections.incrementAndGet();
      Socket up = new Socket();
      try {
        up.connect(upstream, CONNECT_TIMEOUT_MILLIS);
        client.setTcpNoDelay(true);
        up.setTcpNoDelay(true);
      } catch (IOException e) {
        closeQuietly(client);
        closeQuietly(up);
        continue;
      }
      sockets.add(client);
      sockets.add(up);
      Queue<Exchange> pending = new ConcurrentLinkedQueue<>();
      AtomicInteger running = new AtomicInteger(2);
      Runnable done =
          () -> {
            if (running.decrementAndGet() == 0) {
              closeQuietly(client);
              closeQuietly(up);
              sockets.remove(client);
              sockets.remove(up);
            }
          };
      String id = client.getPort() + "";
      daemon("oranc-testkit-proxy-req-" + id, () -> pump(client, up, done, true, pending)).start();
      daemon("oranc-testkit-proxy-resp-" + id, () -> pump(up, client, done, false, pending))
          .start();
    }
  }

  private void pump(
      Socket from, Socket to, Runnable done, boolean requests, Queue<Exchange> pending) {
    try {
      InputStream in = new BufferedInputStream(from.getInputStream());
      OutputStream out = new BufferedOutputStream(to.getOutputStream());
      if (requests) {
        while (forwardRequest(in, out, pending)) {
          // next request on this connection
        }
      } else {
        while (forwardResponse(in, out, pending)) {
          // next response on this connection
        }
      }
      out.flush();
      to.shutdownOutput();
    } catch (IOException e) {
      // A peer went away mid-message: end both directions.
      closeQuietly(from);
      closeQuietly(to);
    } finally {
      done.run();
    }
  }

  /** Forwards one request; false at a clean end of the connection. */
  private boolean forwardRequest(InputStream in, OutputStream out, Queue<Exchange> pending)
      throws IOException {
    byte[] head = readHead(in);
    if (head == null) {
      return false;
    }
    Head h = Head.parse(head);
    String[] requestLine = h.startLine().split(" ", 3);
    if (requestLine.length < 2) {
      throw new IOException("bad request line: " + h.startLine());
    }
    String authorization = h.header("authorization");
    String scheme = authorization == null ? null : authorization.strip().split(" ", 2)[0];
    Exchange exchange = new Exchange(requestLine[0], requestLine[1], scheme);
    pending.add(exchange);
    exchanges.add(exchange);
    out.write(head);
    out.flush();
    forwardBody(in, out, h, exchange, true);
    out.flush();
    return true;
  }

  /** Forwards one response (and any interim ones before it); false at the end of the connection. */
  private boolean forwardResponse(InputStream in, OutputStream out, Queue<Exchange> pending)
      throws IOException {
    while (true) {
      byte[] head = readHead(in);
      if (head == null) {
        return false;
      }
      Head h = Head.parse(head);
      String[] statusLine = h.startLine().split(" ", 3);
      int status;
      try {
        status = Integer.parseInt(statusLine[1]);
      } catch (RuntimeException e) {
        throw new IOException("bad status line: " + h.startLine());
      }
      if (status >= 100 && status < 200) {
        out.write(head);
        out.flush();
        continue;
      }
      Exchange exchange = pending.poll();
      if (exchange == null) {
        exchange = new Exchange("?", "?", null); // a response nobody asked for
        exchanges.add(exchange);
      }
      exchange.status = status;
      exchange.answeredNanos = System.nanoTime();
      out.write(head);
      boolean noBody = exchange.method.equals("HEAD") || status == 204 || status == 304;
      if (noBody) {
        out.flush();
        return true;
      }
      boolean framed = forwardBody(in, out, h, exchange, false);
      out.flush();
      return framed;
    }
  }

  /**
   * Forwards the body {@code head} announces. Returns false when the body ran to the end of the
   * connection (a response without length), so the connection is done.
   */
  private static boolean forwardBody(
      InputStream in, OutputStream out, Head head, Exchange exchange, boolean request)
      throws IOException {
    String transferEncoding = head.header("transfer-encoding");
    String contentLength = head.header("content-length");
    if (transferEncoding != null && transferEncoding.toLowerCase(Locale.ROOT).contains("chunked")) {
      forwardChunked(in, out, exchange, request);
      return true;
    }
    if (contentLength != null) {
      long length;
      try {
        length = Long.parseLong(contentLength.strip());
      } catch (NumberFormatException e) {
        throw new IOException("bad Content-Length: " + contentLength);
      }
      copy(in, out, length, exchange, request);
      return true;
    }
    if (request) {
      return true; // a request without framing has no body
    }
    copy(in, out, Long.MAX_VALUE, exchange, false);
    return false;
  }

  private static void forwardChunked(
      InputStream in, OutputStream out, Exchange exchange, boolean request) throws IOException {
    while (true) {
      String sizeLine = readLine(in, out);
      int semicolon = sizeLine.indexOf(';');
      String hex = (semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).strip();
      long size;
      try {
        size = Long.parseLong(hex, 16);
      } catch (NumberFormatException e) {
        throw new IOException("bad chunk size: " + sizeLine);
      }
      if (size == 0) {
        // trailers, up to an empty line
        while (!readLine(in, out).isEmpty()) {
          // forwarded by readLine
        }
        return;
      }
      copy(in, out, size, exchange, request);
      readLine(in, out); // the CRLF after the chunk
      out.flush();
    }
  }

  /** Copies {@code length} bytes (or up to EOF when Long.MAX_VALUE), counting them. */
  private static void copy(
      InputStream in, OutputStream out, long length, Exchange exchange, boolean request)
      throws IOException {
    byte[] buffer = new byte[16 * 1024];
    long left = length;
    while (left > 0) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
      if (n < 0) {
        if (length == Long.MAX_VALUE) {
          return;
        }
        throw new EOFException("connection closed " + left + " bytes before the end of a body");
      }
      if (request) {
        exchange.bodyBytes += n;
      } else {
        exchange.responseBodyBytes += n;
      }
      out.write(buffer, 0, n);
      out.flush();
      left -= n;
    }
  }

  /** Reads one line, forwarding it, and returns it without its line end. */
  private static String readLine(InputStream in, OutputStream out) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("connection closed inside chunked framing");
      }
      out.write(b);
      if (b == '\n') {
        String s = line.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      if (line.size() > MAX_HEAD) {
        throw new IOException("line too long");
      }
      line.write(b);
    }
  }

  /**
   * Reads a message head up to and including its empty line, skipping empty lines before it; null
   * at end of stream before the first byte.
   */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int newlines = 0; // consecutive '\n', ignoring '\r'
    while (true) {
      int b = in.read();
      if (b < 0) {
        if (head.size() == 0) {
          return null;
        }
        throw new EOFException("connection closed inside a message head");
      }
      if (head.size() == 0 && (b == '\r' || b == '\n')) {
        continue;
      }
      head.write(b);
      if (b == '\n') {
        if (++newlines == 2) {
          return head.toByteArray();
        }
      } else if (b != '\r') {
        newlines = 0;
      }
      if (head.size() > MAX_HEAD) {
        throw new IOException("message head over " + MAX_HEAD + " bytes");
      }
    }
  }

  /** A start line and headers (names lower-cased; the last of repeated headers wins). */
  private record Head(String startLine, Map<String, String> headers) {
    static Head parse(byte[] bytes) {
      String[] lines = new String(bytes, StandardCharsets.ISO_8859_1).split("\r?\n");
      Map<String, String> headers = new HashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) {
          headers.put(
              lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
              lines[i].substring(colon + 1).strip());
        }
      }
      return new Head(lines[0], headers);
    }

    String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }
  }

  /** Written by the connection's two pump threads, read by tests: volatile fields. */
  private static final class Exchange {
    final String method;
    final String uri;
    final String authorizationScheme;
    volatile long bodyBytes;
    volatile int status;
    volatile long responseBodyBytes;
    final long arrivedNanos = System.nanoTime();
    volatile long answeredNanos;

    Exchange(String method, String uri, String authorizationScheme) {
      this.method = method;
      this.uri = uri;
      this.authorizationScheme = authorizationScheme;
    }

    ProxiedRequest snapshot() {
      return new ProxiedRequest(
          method, uri, authorizationScheme, bodyBytes, status, responseBodyBytes);
    }
  }

  private static Thread daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private static void closeQuietly(Closeable c) {
    try {
      c.close();
    } catch (IOException e) {
      // closing
    }
  }
}
