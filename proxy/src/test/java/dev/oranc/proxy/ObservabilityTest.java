package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.LogCapture;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What docs/SERVER.md's "Observability" promises, as written there: the access log's line format
 * (no query string, ever) and every metric family it names, present from the first scrape.
 */
class ObservabilityTest {

  /** The families docs/SERVER.md lists, by name as written there. */
  private static final List<String> FAMILIES =
      List.of(
          "oranc_http_requests_total",
          "oranc_http_received_bytes_total",
          "oranc_http_sent_bytes_total",
          "oranc_http_connections",
          "oranc_http_connections_refused_total",
          "oranc_streams_in_flight",
          "oranc_streams_refused_total",
          "oranc_registry_refused_total",
          "oranc_registry_rate_limited_total",
          "oranc_registry_throttled_seconds_total",
          "oranc_registry_operations_total",
          "oranc_registry_operation_seconds_total",
          "oranc_registry_operation_duration_seconds",
          "oranc_nar_redirected_total",
          "oranc_nar_relayed_total",
          "oranc_nar_relayed_bytes_total",
          "oranc_upstream_checks_total",
          "oranc_cache_hits_total",
          "oranc_cache_misses_total",
          "oranc_cache_evictions_total",
          "oranc_cache_entries",
          "oranc_cache_bytes",
          "oranc_multipart_uploads",
          "oranc_multipart_spool_bytes",
          "oranc_multipart_parts_total",
          "oranc_prefetch_total");

  /** {@code METHOD PATH STATUS out=NB in=NB N.Nms layer=… body=…}, then an optional note. */
  private static final Pattern ACCESS_LINE =
      Pattern.compile(
          "(GET|HEAD|PUT) (/\\S*) (\\d{3}|-) out=\\d+B in=\\d+B \\d+(\\.\\d+)?ms layer=\\S+"
              + " body=\\S+( (aborted|idle|upstream|write-failed))?");

  private TestServer server;
  private LogCapture access;

  @BeforeEach
  void start() {
    access = LogCapture.of("dev.oranc.proxy.access");
    server = TestServer.start();
  }

  @AfterEach
  void stop() {
    server.close();
    access.close();
  }

  @Test
  void everyDocumentedMetricFamilyIsScrapedFromTheStart() throws Exception {
    HttpResponse<byte[]> r = server.get("/-/metrics", null);
    assertEquals(200, r.statusCode());
    String text = TestServer.text(r);
    for (String family : FAMILIES) {
      assertTrue(
          Pattern.compile("(?m)^# TYPE " + family + " (counter|gauge|histogram)$")
              .matcher(text)
              .find(),
          family + " in\n" + text);
    }
  }

  @Test
  void theAccessLogHasTheDocumentedFormatAndNoQueryString() throws Exception {
    assertEquals(200, server.get("/-/health?secret=s3cr3t-value", null).statusCode());
    // A registry that refuses the connection (loopback port 1): answered 502, logged the same.
    server.get("/127.0.0.1:1/o/c/x.narinfo?X-Amz-Signature=s3cr3t-value", null);
    List<String> lines = awaitLines(2);
    for (String line : lines) {
      assertTrue(ACCESS_LINE.matcher(line).matches(), "not in the documented format: " + line);
      assertFalse(line.contains("s3cr3t") || line.contains("?"), "a query string: " + line);
    }
    assertTrue(lines.get(0).startsWith("GET /-/health 200 out=3B in=0B "), lines.get(0));
  }

  /** The access lines, once {@code n} are there (a line is written after the answer is sent). */
  private List<String> awaitLines(int n) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (access.messages().size() < n && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    List<String> lines = access.messages();
    assertEquals(n, lines.size(), lines.toString());
    return lines;
  }
}
