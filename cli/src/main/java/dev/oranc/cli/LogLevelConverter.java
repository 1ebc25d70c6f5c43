package dev.oranc.cli;

import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

final class LogLevelConverter implements ITypeConverter<String> {

  static final List<String> LEVELS = List.of("error", "warn", "info", "debug", "trace", "off");

  static final class Names implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return LEVELS.iterator();
    }
  }

  @Override
  public String convert(String value) {
    String level = value.toLowerCase(Locale.ROOT);
    if (!LEVELS.contains(level)) {
      throw new TypeConversionException(
          "'"
              + value
              + "' is not a log level (expected one of: "
              + String.join(", ", LEVELS)
              + ")");
    }
    return level;
  }
}
