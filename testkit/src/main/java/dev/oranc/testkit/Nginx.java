package dev.oranc.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real nginx for the tests that run a configuration of docs/OPERATIONS.md as written: the
 * documented block is read from the document ({@link #documentedBlock}), only what names the
 * operator's machine is replaced ({@link #replaceOnce}), and it runs inside a minimal main
 * configuration that keeps every file nginx writes under one directory ({@link #start}).
 *
 * <p>Design note: the access log is this wrapper's, not the document's: one line per request,
 * {@code METHOD URI STATUS UPSTREAM_ADDR UPSTREAM_STATUS CACHE_STATUS}, so that a test can see
 * which upstream answered (several, comma-separated, when nginx tried the next one) and wait for
 * events in it instead of timing anything. nginx runs in the foreground without a master process,
 * under {@link ExternalProcess}, so it is stopped by its PID however the test ends.
 */
public final class Nginx implements AutoCloseable {

  private static final String LOG_FORMAT =
      "log_format oranc_test '$request_method $uri $status $upstream_addr $upstream_status"
          + " $upstream_cache_status';";

  private final ExternalProcess process;
  private final int port;
  private final Path dir;

  private Nginx(ExternalProcess process, int port, Path dir) {
    this.process = process;
    this.port = port;
    this.dir = dir;
  }

  /**
   * Checks ({@code nginx -t}) and starts {@code http} (the contents of the {@code http} block:
   * upstreams, caches, servers) with its files under {@code dir}, and waits until it listens on
   * {@code port} (which {@code http} must listen on).
   */
  public static Nginx start(Path dir, String http, int port) {
    try {
      Files.createDirectories(dir);
      String conf =
          "pid "
              + dir.resolve("nginx.pid")
              + ";\n"
              + "error_log "
              + dir.resolve("error.log")
              + " warn;\n"
              + "events { worker_connections 256; }\n"
              + "http {\n"
              + "  "
              + LOG_FORMAT
              + "\n"
              + "  access_log "
              + dir.resolve("access.log")
              + " oranc_test;\n"
              + "  client_body_temp_path "
              + dir.resolve("body")
              + ";\n"
              + "  proxy_temp_path "
              + dir.resolve("proxy")
              + ";\n"
              + "  fastcgi_temp_path "
              + dir.resolve("fastcgi")
              + ";\n"
              + "  uwsgi_temp_path "
              + dir.resolve("uwsgi")
              + ";\n"
              + "  scgi_temp_path "
              + dir.resolve("scgi")
              + ";\n"
              + http
              + "}\n";
      Path confFile = Files.writeString(dir.resolve("nginx.conf"), conf);
      Process check =
          new ProcessBuilder(
                  "nginx", "-e", "stderr", "-t", "-p", dir.toString(), "-c", confFile.toString())
              .redirectErrorStream(true)
              .start();
      check.getOutputStream().close();
      String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!check.waitFor(60, TimeUnit.SECONDS) || check.exitValue() != 0) {
        throw new IllegalStateException(
            "nginx -t refuses the configuration:\n" + conf + "\n" + out);
      }
      ExternalProcess nginx =
          ExternalProcess.start(
              "nginx",
              List.of(
                  "nginx",
                  "-e",
                  "stderr",
                  "-p",
                  dir.toString(),
                  "-c",
                  confFile.toString(),
                  "-g",
                  "daemon off; master_process off;"));
      try {
        awaitPort(port, nginx);
      } catch (RuntimeException | Error e) {
        nginx.close();
        throw e;
      }
      return new Nginx(nginx, port, dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start nginx in " + dir, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting nginx", e);
    }
  }

  public int port() {
    return port;
  }

  /** The access log so far, one entry a line (see the class comment for the fields). */
  public List<String> accessLog() {
    Path log = dir.resolve("access.log");
    try {
      return Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String errorLog() {
    try {
      Path log = dir.resolve("error.log");
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    process.close();
  }

  /** The first fenced {@code language} block after the line {@code heading} in {@code document}. */
  public static String documentedBlock(Path document, String heading, String language) {
    String doc;
    try {
      doc = Files.readString(document, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int at = doc.indexOf("\n" + heading + "\n");
    if (at < 0) {
      throw new AssertionError(document + " has no heading '" + heading + "'");
    }
    String fence = "```" + language + "\n";
    int start = doc.indexOf(fence, at);
    if (start < 0) {
      throw new AssertionError(
          document + " has no " + fence.strip() + " block after '" + heading + "'");
    }
    int end = doc.indexOf("```", start + fence.length());
    return doc.substring(start + fence.length(), end);
  }

  /**
   * {@code text} with every {@code what} replaced; {@code what} must occur (the document changed
   * otherwise).
   */
  public static String replaceOnce(String text, String what, String with) {
    if (!text.contains(what)) {
      throw new AssertionError("the documented block no longer contains '" + what + "':\n" + text);
    }
    return text.replace(what, with);
  }

  /** A loopback port that was free a moment ago (for programs that cannot report a port 0 bind). */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A self-signed certificate for {@code 127.0.0.1} (openssl, EC P-256, one day): {@code cert.pem}
   * and {@code key.pem} under {@code dir}.
   */
  public static List<Path> selfSignedCertificate(Path dir) {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    try {
      Process openssl =
          new ProcessBuilder(
                  "openssl",
                  "req",
                  "-x509",
                  "-newkey",
                  "ec",
                  "-pkeyopt",
                  "ec_paramgen_curve:prime256v1",
                  "-nodes",
                  "-days",
                  "1",
                  "-subj",
                  "/CN=127.0.0.1",
                  "-addext",
                  "subjectAltName=IP:127.0.0.1",
                  "-keyout",
                  key.toString(),
                  "-out",
                  cert.toString())
              .redirectErrorStream(true)
              .start();
      openssl.getOutputStream().close();
      String made = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!openssl.waitFor(60, TimeUnit.SECONDS) || openssl.exitValue() != 0) {
        throw new IllegalStateException("openssl could not make a certificate:\n" + made);
      }
      return List.of(cert, key);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Waits (at most 30 s) until something accepts connections on {@code port}, while {@code process}
   * lives.
   */
  public static void awaitPort(int port, ExternalProcess process) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError(process.name() + " exited:\n" + process.log());
      }
      try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
        return;
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    throw new AssertionError(
        process.name() + " does not listen on " + port + ":\n" + process.log());
  }
}
