package dev.oranc.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The version Maven built, from a filtered resource. */
final class Version implements IVersionProvider {

  static String current() {
    Properties properties = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("/oranc-version.properties")) {
      if (in == null) {
        return "unknown";
      }
      properties.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return properties.getProperty("version", "unknown");
  }

  @Override
  public String[] getVersion() {
    return new String[] {"oranc " + current()};
  }
}
