package dev.oranc.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
    name = "oranc",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Use an OCI registry (ghcr.io, Harbor, the CNCF distribution registry, ...) as a Nix binary"
          + " cache. 'oranc COMMAND --help' explains each command.",
    },
    footer = {
      "",
      "Environment: ORANC_LOG sets the log level (error, warn, info, debug, trace), e.g."
          + " ORANC_LOG=debug; --log-level wins over it.",
    },
    subcommands = {
      ServerCommand.class,
      PushCommand.class,
      PinCommand.class,
      GcCommand.class,
      CheckCommand.class,
      TagCommand.class,
      CompletionCommand.class,
    })
final class OrancCommand implements Runnable {

  @Spec CommandSpec spec;

  @CommandLine.Mixin LogOptions logOptions;

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(),
        "a command is required (server, push, pin, gc, check, tag, completion)");
  }
}
