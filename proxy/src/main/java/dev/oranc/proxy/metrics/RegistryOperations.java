package dev.oranc.proxy.metrics;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The registry operations done for requests, timed: a count and a latency sum per (operation,
 * outcome), and a latency histogram per operation, whatever the outcome. Part of {@link
 * ServerMetrics}, which takes the observations and writes these three families with the rest.
 */
final class RegistryOperations {

  /**
   * Upper bounds of the latency histogram's buckets, in seconds: from a loopback registry's
   * milliseconds to a struggling remote one's seconds.
   */
  static final double[] LATENCY_BUCKETS = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
  };

  private static final long[] LATENCY_BUCKET_NANOS = new long[LATENCY_BUCKETS.length];

  static {
    for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
      LATENCY_BUCKET_NANOS[i] = (long) (LATENCY_BUCKETS[i] * 1e9);
    }
  }

  private record OperationLabel(String operation, String outcome) {}

  /**
   * One (operation, outcome): how many took up to each latency bound (the last bucket: longer), not
   * cumulative here; the count is their sum. Scrapes add the buckets up, and for the histogram the
   * outcomes of an operation too.
   */
  private static final class Timer {
    final LongAdder[] buckets = new LongAdder[LATENCY_BUCKETS.length + 1];
    final LongAdder nanos = new LongAdder();

    Timer() {
      for (int i = 0; i < buckets.length; i++) {
        buckets[i] = new LongAdder();
      }
    }

    void observe(long n) {
      int i = 0;
      while (i < LATENCY_BUCKET_NANOS.length && n > LATENCY_BUCKET_NANOS[i]) {
        i++;
      }
      buckets[i].increment();
      nanos.add(n);
    }

    long count() {
      long c = 0;
      for (LongAdder b : buckets) {
        c += b.sum();
      }
      return c;
    }
  }

  private final ConcurrentHashMap<OperationLabel, Timer> timers = new ConcurrentHashMap<>();

  void observe(String operation, String outcome, long nanos) {
    timers.computeIfAbsent(new OperationLabel(operation, outcome), k -> new Timer()).observe(nanos);
  }

  /** Operations so far with this name, of any outcome. */
  long count(String operation) {
    long n = 0;
    for (var e : timers.entrySet()) {
      if (e.getKey().operation.equals(operation)) {
        n += e.getValue().count();
      }
    }
    return n;
  }

  /** The three families: count and seconds by operation and outcome, the latency histogram. */
  void writeTo(PrometheusText out) {
    Map<String, Timer> ops = new TreeMap<>();
    timers.forEach(
        (k, v) ->
            ops.put(
                "{operation=\""
                    + k.operation
                    + "\",outcome=\""
                    + PrometheusText.escape(k.outcome)
                    + "\"}",
                v));
    out.header(
        "oranc_registry_operations_total",
        "counter",
        "Registry operations done for requests, by operation and outcome.");
    ops.forEach((labels, t) -> out.sample("oranc_registry_operations_total", labels, t.count()));
    out.header(
        "oranc_registry_operation_seconds_total",
        "counter",
        "Time spent in registry operations (sum; divide by the count for the mean latency).");
    ops.forEach(
        (labels, t) ->
            out.sampleDouble("oranc_registry_operation_seconds_total", labels, seconds(t.nanos)));
    writeHistogram(out);
  }

  private void writeHistogram(PrometheusText out) {
    out.header(
        "oranc_registry_operation_duration_seconds",
        "histogram",
        "Registry operation latency, by operation, whatever the outcome (for quantiles:"
            + " histogram_quantile).");
    Map<String, long[]> buckets = new TreeMap<>();
    Map<String, Long> nanosByOperation = new TreeMap<>();
    timers.forEach(
        (k, t) -> {
          long[] sums =
              buckets.computeIfAbsent(k.operation, o -> new long[LATENCY_BUCKETS.length + 1]);
          for (int i = 0; i < sums.length; i++) {
            sums[i] += t.buckets[i].sum();
          }
          nanosByOperation.merge(k.operation, t.nanos.sum(), Long::sum);
        });
    buckets.forEach(
        (operation, sums) -> {
          String op = "operation=\"" + PrometheusText.escape(operation) + "\"";
          long cumulative = 0;
          for (int i = 0; i < sums.length; i++) {
            cumulative += sums[i];
            String le = i < LATENCY_BUCKETS.length ? Double.toString(LATENCY_BUCKETS[i]) : "+Inf";
            out.sample(
                "oranc_registry_operation_duration_seconds_bucket",
                "{" + op + ",le=\"" + le + "\"}",
                cumulative);
          }
          out.sampleDouble(
              "oranc_registry_operation_duration_seconds_sum",
              "{" + op + "}",
              nanosByOperation.get(operation) / (double) TimeUnit.SECONDS.toNanos(1));
          // The count is the +Inf bucket's, so that the two agree within one scrape.
          out.sample("oranc_registry_operation_duration_seconds_count", "{" + op + "}", cumulative);
        });
  }

  private static double seconds(LongAdder nanos) {
    return nanos.sum() / (double) TimeUnit.SECONDS.toNanos(1);
  }
}
