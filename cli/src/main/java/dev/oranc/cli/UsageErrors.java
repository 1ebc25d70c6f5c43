package dev.oranc.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * A command line that does not parse: one line on stderr naming the flag, what was wrong and what
 * is accepted, then exit status 2. No usage dump, no stack trace.
 */
final class UsageErrors implements IParameterExceptionHandler {

  static final int EXIT_USAGE = 2;

  private final EnvironmentDefaults environment;

  UsageErrors(EnvironmentDefaults environment) {
    this.environment = environment;
  }

  @Override
  public int handleParseException(ParameterException e, String[] args) {
    CommandLine commandLine = e.getCommandLine();
    CommandSpec spec = commandLine.getCommandSpec();
    StringBuilder line =
        new StringBuilder(spec.qualifiedName()).append(": ").append(e.getMessage());
    String variable = e.getArgSpec() == null ? null : environment.source(e.getArgSpec());
    if (variable != null
        && spec.qualifiedName().endsWith(" server")
        && !e.getCommandLine()
            .getParseResult()
            .hasMatchedOption(((OptionSpec) e.getArgSpec()).longestName())) {
      line.append(" (from the environment variable ").append(variable).append(')');
    }
    if (e instanceof UnmatchedArgumentException unmatched) {
      List<String> suggestions = unmatched.getSuggestions();
      if (!suggestions.isEmpty()) {
        line.append("; did you mean ").append(String.join(" or ", suggestions)).append('?');
      } else if (unmatched.isUnknownOption()) {
        line.append("; accepted: ").append(acceptedOptions(spec));
      } else if (!spec.subcommands().isEmpty()) {
        line.append("; commands: ").append(String.join(", ", spec.subcommands().keySet()));
      }
    }
    line.append(" (see '").append(spec.qualifiedName()).append(" --help')");
    PrintWriter err = commandLine.getErr();
    err.println(line);
    err.flush();
    return EXIT_USAGE;
  }

  private static String acceptedOptions(CommandSpec spec) {
    return spec.options().stream()
        .filter(o -> !o.hidden())
        .map(OptionSpec::names)
        .map(names -> String.join("/", names))
        .collect(Collectors.joining(", "));
  }
}
