package dev.oranc.cli;

import java.io.PrintWriter;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

@Command(
    name = "completion",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Print a shell completion script for oranc.",
      "  bash: source <(oranc completion bash)   (or save it under /etc/bash_completion.d/)",
      "  zsh:  source <(oranc completion zsh)",
      "  fish: oranc completion fish > ~/.config/fish/completions/oranc.fish",
    })
final class CompletionCommand implements Runnable {

  enum Shell {
    BASH,
    ZSH,
    FISH;

    static final String ACCEPTED = "bash, zsh, fish";
  }

  static final class ShellConverter implements ITypeConverter<Shell> {
    @Override
    public Shell convert(String value) {
      try {
        return Shell.valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(
            "'" + value + "' is not a supported shell (expected one of: " + Shell.ACCEPTED + ")");
      }
    }
  }

  static final class ShellNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return List.of("bash", "zsh", "fish").iterator();
    }
  }

  @Spec CommandSpec spec;

  @Parameters(
      paramLabel = "SHELL",
      converter = ShellConverter.class,
      completionCandidates = ShellNames.class,
      description = "The shell: ${COMPLETION-CANDIDATES}.")
  Shell shell;

  @Override
  public void run() {
    CommandLine root = spec.root().commandLine();
    PrintWriter out = spec.commandLine().getOut();
    switch (shell) {
      // picocli's script serves bash and zsh (it loads bashcompinit under zsh).
      case BASH, ZSH -> out.print(AutoComplete.bash("oranc", root));
      case FISH -> out.print(FishCompletion.script(root.getCommandSpec()));
    }
    out.flush();
  }
}
