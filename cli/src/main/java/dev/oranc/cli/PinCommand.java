package dev.oranc.cli;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.PushException;
import dev.oranc.push.input.InputPaths;
import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.RetentionException;
import dev.oranc.retention.pin.Pins;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "pin",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    subcommands = {PinCommand.Add.class, PinCommand.ListPins.class, PinCommand.Remove.class},
    description = {
      "Named sets of store paths whose closures 'oranc gc' keeps, whatever their age.",
      "",
      "A pin is the cache key pins/NAME, a text file of store paths, one per line: through the"
          + " server, 'curl <cache>/pins/NAME' prints it.",
    },
    footer = {
      "",
      "Environment:",
      "  ORANC_USERNAME, ORANC_PASSWORD  registry credentials (both, or anonymous)",
    })
final class PinCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(), "a pin command is required (add, list, remove)");
  }

  /** One line and exit 1 for what a user must fix; the rest is {@link ExecutionErrors}'. */
  static int fail(CommandSpec spec, RuntimeException e) {
    PrintWriter err = spec.commandLine().getErr();
    err.println(spec.qualifiedName() + ": " + e.getMessage());
    err.flush();
    return ExecutionErrors.EXIT_FAILURE;
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      sortOptions = false,
      description = {
        "Set pin NAME to the given store paths (or links to them, such as ./result), replacing what"
            + " it held; without paths, they are read from standard input, one per line, as"
            + " 'oranc push' reads them.",
        "  oranc pin add --repository owner/cache production ./result",
      })
  static final class Add implements Callable<Integer> {

    @Parameters(
        index = "0",
        paramLabel = "NAME",
        description = "The pin's name: letters, digits, '.', '_', '-'.")
    String name;

    @Parameters(index = "1..*", paramLabel = "PATH", description = "Store paths, or links to them.")
    List<String> paths = new ArrayList<>();

    @Option(
        names = "--store-dir",
        paramLabel = "DIR",
        defaultValue = "/nix/store",
        description = "The Nix store directory. Default: ${DEFAULT-VALUE}.")
    String storeDir;

    @Mixin RegistryOptions target;

    @Mixin EncodingOptions encoding;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      Pins.key(name);
      target.requireRepository(spec);
      List<StorePath> resolved;
      Path cwd = Path.of("").toAbsolutePath();
      try {
        resolved =
            paths.isEmpty()
                ? InputPaths.read(System.in, storeDir, cwd)
                : InputPaths.resolve(paths, storeDir, cwd);
      } catch (PushException e) {
        return fail(spec, e);
      }
      try (CacheTarget cache = target.open(spec, encoding)) {
        new Pins(cache).set(name, resolved);
      } catch (RetentionException e) {
        return fail(spec, e);
      }
      spec.commandLine().getErr().println("pin " + name + " set to " + resolved.size() + " paths");
      return 0;
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      sortOptions = false,
      description = {"Print every pin's name and number of paths, one per line."})
  static final class ListPins implements Callable<Integer> {

    @Mixin RegistryOptions target;

    @Mixin EncodingOptions encoding;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      try (CacheTarget cache = target.open(spec, encoding)) {
        PrintWriter out = spec.commandLine().getOut();
        for (Pins.Pin pin : new Pins(cache).list()) {
          out.println(pin.name() + "\t" + pin.paths());
        }
        out.flush();
      } catch (RetentionException e) {
        return fail(spec, e);
      }
      return 0;
    }
  }

  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      sortOptions = false,
      description = {
        "Remove pin NAME (its paths are then kept only while recent or otherwise live)."
      })
  static final class Remove implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "NAME", description = "The pin's name.")
    String name;

    @Mixin RegistryOptions target;

    @Mixin EncodingOptions encoding;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      Pins.key(name);
      try (CacheTarget cache = target.open(spec, encoding)) {
        new Pins(cache).remove(name);
      } catch (RetentionException e) {
        return fail(spec, e);
      }
      spec.commandLine().getErr().println("pin " + name + " removed");
      return 0;
    }
  }
}
