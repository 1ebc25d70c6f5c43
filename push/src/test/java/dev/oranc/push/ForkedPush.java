package dev.oranc.push;

import dev.oranc.push.progress.ProgressReporter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code oranc push} in a JVM of its own, for tests that must kill it or bound its heap: {@code
 * ForkedPush REGISTRY REPOSITORY PARALLEL} reads store paths on stdin and pushes them over plain
 * HTTP, with the environment's ORANC_* variables; exit status 0 when every path was pushed.
 */
public final class ForkedPush {

  private ForkedPush() {}

  public static void main(String[] args) throws Exception {
    PushOptions options =
        PushOptions.builder(args[0], args[1])
            .noSsl(true)
            .parallel(Integer.parseInt(args[2]))
            .build();
    PushReport report;
    try {
      report =
          new Push(options, System.getenv())
              .run(
                  System.in,
                  Path.of("").toAbsolutePath(),
                  System.err,
                  ProgressReporter.stderrIsTerminal());
    } catch (PushException e) {
      System.err.println("push: " + e.getMessage());
      System.exit(1);
      return;
    }
    for (String line : report.summary()) {
      System.err.println(line);
    }
    System.out.println("max heap used " + usedHeapPeak());
    System.exit(report.succeeded() ? 0 : 1);
  }

  private static long usedHeapPeak() {
    long peak = 0;
    for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak;
  }

  /**
   * The command line of a forked push: this JVM's java and class path, {@code jvmOptions} added.
   */
  static List<String> command(
      List<String> jvmOptions, String registry, String repository, int parallel) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(ForkedPush.class.getName());
    command.add(registry);
    command.add(repository);
    command.add(Integer.toString(parallel));
    return command;
  }
}
