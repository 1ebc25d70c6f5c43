package dev.oranc.cli;

import java.util.Map;
import picocli.CommandLine;

/** Entry point of the {@code oranc} command. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs one command line and returns its exit status (0 ok, 1 failure, 2 usage error). */
  public static int run(String... args) {
    return newCommandLine().execute(args);
  }

  /** Logging is set up after parsing (the level is a flag) and before any command runs. */
  private static int configureLoggingThenRun(CommandLine.ParseResult parseResult) {
    String flag = null;
    for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--log-level")) {
        flag = p.matchedOptionValue("--log-level", null);
      }
    }
    try {
      Logging.configure(flag, System.getenv(Logging.ENVIRONMENT_VARIABLE));
    } catch (IllegalArgumentException e) {
      CommandLine commandLine = parseResult.commandSpec().commandLine();
      commandLine.getErr().println("oranc: " + e.getMessage());
      commandLine.getErr().flush();
      return UsageErrors.EXIT_USAGE;
    }
    return new CommandLine.RunLast().execute(parseResult);
  }

  static CommandLine newCommandLine() {
    return newCommandLine(System.getenv());
  }

  /** {@code environment} supplies the server's flags (ORANC_LISTEN, …) for systemd units. */
  static CommandLine newCommandLine(Map<String, String> environment) {
    CommandLine commandLine = new CommandLine(new OrancCommand());
    EnvironmentDefaults serverDefaults = new EnvironmentDefaults(environment);
    commandLine.getSubcommands().get("server").setDefaultValueProvider(serverDefaults);
    commandLine.setParameterExceptionHandler(new UsageErrors(serverDefaults));
    commandLine.setExecutionExceptionHandler(new ExecutionErrors());
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setExecutionStrategy(Main::configureLoggingThenRun);
    return commandLine;
  }
}
