package dev.oranc.cli;

import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Defaults of a command's flags from the environment, for systemd's {@code EnvironmentFile=}: flag
 * {@code --max-retry} is {@code ORANC_MAX_RETRY}, {@code --no-ssl} is {@code ORANC_NO_SSL=true}. A
 * flag on the command line wins over its variable; a variable wins over the built-in default. A
 * repeatable flag takes several values in one variable, separated as the flag's own values are
 * (e.g. {@code ORANC_UPSTREAM="https://a https://b"}).
 */
final class EnvironmentDefaults implements IDefaultValueProvider {

  static final String PREFIX = "ORANC_";

  private final Map<String, String> environment;

  EnvironmentDefaults(Map<String, String> environment) {
    this.environment = environment;
  }

  /** The variable for an option: ORANC_ and its longest name, upper case, dashes as underscores. */
  static String variable(OptionSpec option) {
    String name = option.longestName().replaceFirst("^-+", "");
    return PREFIX + name.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  /** The variable that supplied this option's value, or null when none did. */
  String source(ArgSpec arg) {
    if (!(arg instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()) {
      return null;
    }
    String v = variable(option);
    String value = environment.get(v);
    return value == null || value.isBlank() ? null : v;
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    String v = source(arg);
    return v == null ? null : environment.get(v).trim();
  }
}
