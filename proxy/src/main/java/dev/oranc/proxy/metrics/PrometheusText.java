package dev.oranc.proxy.metrics;

/**
 * The Prometheus text exposition format (0.0.4), written family by family: a family's {@code HELP}
 * and {@code TYPE} lines, then its samples, each {@code name{labels} value}. Labels come written
 * ({@code {a="b"}}, or empty); values from outside are {@link #escape}d first.
 */
final class PrometheusText {

  private final StringBuilder b = new StringBuilder(4096);

  void header(String name, String type, String help) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n');
    b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  void sample(String name, String labels, long value) {
    b.append(name).append(labels).append(' ').append(value).append('\n');
  }

  void sampleDouble(String name, String labels, double value) {
    b.append(name).append(labels).append(' ').append(value).append('\n');
  }

  /** A label value as the format quotes it: backslash, double quote and newline escaped. */
  static String escape(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  @Override
  public String toString() {
    return b.toString();
  }
}
