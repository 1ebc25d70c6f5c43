package dev.oranc.cli;

import dev.oranc.common.net.HostPattern;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.push.PushOptions;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Converters whose errors say what was wrong and what is accepted, in one line. */
final class Converters {

  private Converters() {}

  /** {@code HOST:PORT}, {@code [IPv6]:PORT}; the host is resolved when the server binds. */
  static final class ListenAddress implements ITypeConverter<InetSocketAddress> {
    @Override
    public InetSocketAddress convert(String value) {
      int colon = value.lastIndexOf(':');
      if (colon <= 0 || colon == value.length() - 1) {
        throw invalid(value);
      }
      String host = value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      } else if (host.contains(":")) {
        throw invalid(value); // a bare IPv6 address needs brackets to tell the port apart
      }
      if (host.isEmpty()) {
        throw invalid(value);
      }
      int port = parsePort(value, value.substring(colon + 1));
      return InetSocketAddress.createUnresolved(host, port);
    }

    private static int parsePort(String value, String port) {
      try {
        int n = Integer.parseInt(port);
        if (n >= 0 && n <= 65535) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new TypeConversionException(
          "'" + value + "' has port '" + port + "', expected a number from 0 to 65535");
    }

    private static TypeConversionException invalid(String value) {
      return new TypeConversionException(
          "'" + value + "' is not ADDRESS:PORT (e.g. [::]:8080, 0.0.0.0:8080 or 127.0.0.1:8080)");
    }
  }

  /** An http or https URL, for upstream caches. */
  static final class HttpUrl implements ITypeConverter<URI> {
    @Override
    public URI convert(String value) {
      try {
        URI uri = new URI(value);
        String scheme = uri.getScheme();
        if (scheme != null
            && (scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
            && uri.getHost() != null) {
          return uri;
        }
      } catch (URISyntaxException e) {
        // reported below
      }
      throw new TypeConversionException(
          "'" + value + "' is not an http(s) URL (e.g. https://cache.nixos.org)");
    }
  }

  /** A Java regular expression; matched anywhere in the text, like the Rust tool's is_match. */
  static final class Regex implements ITypeConverter<Pattern> {
    @Override
    public Pattern convert(String value) {
      try {
        return Pattern.compile(value);
      } catch (PatternSyntaxException e) {
        throw new TypeConversionException(
            "'"
                + value
                + "' is not a valid regular expression: "
                + e.getDescription()
                + " near index "
                + e.getIndex());
      }
    }
  }

  /** A registry as {@code host} or {@code host:port}, no scheme, no path. */
  static final class Registry implements ITypeConverter<String> {
    private static final Pattern HOST_PORT =
        Pattern.compile(
            "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?");

    @Override
    public String convert(String value) {
      if (!HOST_PORT.matcher(value).matches()) {
        throw new TypeConversionException(
            "'"
                + value
                + "' is not a registry HOST[:PORT] (e.g. ghcr.io or 127.0.0.1:5000; no"
                + " scheme, no path)");
      }
      return value;
    }
  }

  /** An OCI repository name: lowercase path components separated by '/'. */
  static final class Repository implements ITypeConverter<String> {
    // OCI distribution spec:
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
    private static final Pattern NAME =
        Pattern.compile(
            "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*");

    @Override
    public String convert(String value) {
      if (!NAME.matcher(value).matches()) {
        throw new TypeConversionException(
            "'"
                + value
                + "' is not a repository name (lowercase letters, digits and . _ -"
                + " separated by '/', e.g. owner/cache)");
      }
      return value;
    }
  }

  /**
   * {@code --max-retry}: attempts ({@code 3}) or how long to wait out rate limits ({@code 5m}); the
   * form not given keeps its default, which for the wait differs by command.
   */
  abstract static class RetryBudgetConverter implements ITypeConverter<RetryBudget> {
    private final Duration defaultWait;

    RetryBudgetConverter(Duration defaultWait) {
      this.defaultWait = defaultWait;
    }

    @Override
    public RetryBudget convert(String value) {
      try {
        return RetryBudget.parse(value, defaultWait);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage().replaceFirst("^--max-retry: ", ""));
      }
    }
  }

  /** {@code oranc server}: a Nix client waits for its answer, so rate limits are waited 30 s. */
  static final class ServerRetryBudget extends RetryBudgetConverter {
    ServerRetryBudget() {
      super(RegistryClientConfig.defaults().maxRetryAfter());
    }
  }

  /** push, pin, gc, check: batch jobs, which wait out rate limits for minutes. */
  static final class BatchRetryBudget extends RetryBudgetConverter {
    BatchRetryBudget() {
      super(PushOptions.DEFAULT_RATE_LIMIT_WAIT);
    }
  }

  /** A registry pattern ({@link HostPattern}); a bad one is a usage error naming it. */
  static final class RegistryPattern implements ITypeConverter<HostPattern> {
    @Override
    public HostPattern convert(String value) {
      try {
        return HostPattern.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}; a bare number is seconds. */
  static final class ServerDuration implements ITypeConverter<Duration> {
    private static final Pattern FORM = Pattern.compile("(\\d{1,9})(ms|s|m|h)?");

    @Override
    public Duration convert(String value) {
      Matcher m = FORM.matcher(value.trim().toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        throw new TypeConversionException(
            "'" + value + "' is not a duration (expected e.g. 500ms, 30s, 5m or 1h)");
      }
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2);
      return switch (unit) {
        case "ms" -> Duration.ofMillis(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofSeconds(n);
      };
    }
  }

  /** {@code 512}, {@code 64KiB}, {@code 64MiB}, {@code 1GiB} (also KB/MB/GB, as powers of 1024). */
  static final class Size implements ITypeConverter<Long> {
    private static final Pattern FORM =
        Pattern.compile("(\\d{1,12})\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

    @Override
    public Long convert(String value) {
      Matcher m = FORM.matcher(value.trim().toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        throw new TypeConversionException(
            "'" + value + "' is not a size (expected e.g. 65536, 64KiB, 64MiB or 1GiB)");
      }
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "b" : m.group(2);
      int shift =
          switch (unit.charAt(0)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            default -> 0;
          };
      if (n > (Long.MAX_VALUE >> shift)) {
        throw new TypeConversionException("'" + value + "' is too large");
      }
      return n << shift;
    }
  }
}
