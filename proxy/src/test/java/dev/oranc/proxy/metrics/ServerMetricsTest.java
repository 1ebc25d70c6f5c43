package dev.oranc.proxy.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The registry latency histogram in the Prometheus text format. */
class ServerMetricsTest {

  private static long ms(double ms) {
    return (long) (ms * TimeUnit.MILLISECONDS.toNanos(1));
  }

  @Test
  void aStreamCountsOffOnceHoweverManyOfItsEndsCome() {
    ServerMetrics m = new ServerMetrics();
    ServerMetrics.Stream a = m.downloads().start();
    ServerMetrics.Stream b = m.downloads().start();
    assertEquals(2, m.downloads().get());
    a.end();
    a.end(); // failed, then its client went: both paths end it
    assertEquals(1, m.downloads().get());
    b.end();
    b.end();
    assertEquals(0, m.downloads().get());
    ServerMetrics.Stream u = m.uploads().start();
    u.end();
    u.end();
    assertEquals(0, m.uploads().get());
    assertTrue(
        m.scrape().contains("oranc_streams_in_flight{direction=\"download\"} 0"), m.scrape());
  }

  @Test
  void registryLatencyIsACumulativeHistogramPerOperation() {
    ServerMetrics m = new ServerMetrics();
    m.registry("resolve", "ok", ms(3)); // <= 0.005
    m.registry("resolve", "miss", ms(5)); // exactly on a bound: counted in it
    m.registry("resolve", "ok", ms(40)); // <= 0.05
    m.registry("resolve", "unavailable", ms(45_000)); // over the last bound: +Inf only
    m.registry("blob_get", "ok", ms(700)); // <= 1
    String text = m.scrape();
    List<String> lines =
        text.lines()
            .filter(l -> l.startsWith("oranc_registry_operation_duration_seconds"))
            .toList();
    String r = "oranc_registry_operation_duration_seconds_bucket{operation=\"resolve\",le=";
    assertTrue(lines.contains(r + "\"0.005\"} 2"), String.join("\n", lines));
    assertTrue(lines.contains(r + "\"0.01\"} 2"), String.join("\n", lines));
    assertTrue(lines.contains(r + "\"0.05\"} 3"), String.join("\n", lines));
    assertTrue(lines.contains(r + "\"30.0\"} 3"), String.join("\n", lines));
    assertTrue(lines.contains(r + "\"+Inf\"} 4"), String.join("\n", lines));
    assertTrue(
        lines.contains("oranc_registry_operation_duration_seconds_count{operation=\"resolve\"} 4"),
        String.join("\n", lines));
    assertTrue(
        lines.contains(
            "oranc_registry_operation_duration_seconds_sum{operation=\"resolve\"} 45.048"),
        String.join("\n", lines));
    assertTrue(
        lines.contains(
            "oranc_registry_operation_duration_seconds_bucket{operation=\"blob_get\",le=\"0.5\"}"
                + " 0"),
        String.join("\n", lines));
    assertTrue(
        lines.contains(
            "oranc_registry_operation_duration_seconds_bucket{operation=\"blob_get\",le=\"1.0\"}"
                + " 1"),
        String.join("\n", lines));
    // One bucket line per bound and +Inf, a sum and a count, per operation.
    assertEquals(
        2 * (RegistryOperations.LATENCY_BUCKETS.length + 1 + 2),
        lines.size(),
        String.join("\n", lines));
    assertTrue(text.contains("# TYPE oranc_registry_operation_duration_seconds histogram"), text);
  }
}
