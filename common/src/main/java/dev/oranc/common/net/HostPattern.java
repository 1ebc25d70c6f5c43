package dev.oranc.common.net;

import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;

/**
 * A registry named by an operator: {@code ghcr.io}, {@code 127.0.0.1:5000}, {@code *.example.com},
 * {@code [::1]:5000} ({@code --allow-registry}, {@code --insecure-registry}).
 *
 * <p>Host names are compared normalised: lower case, without a trailing dot; an IPv6 address
 * without brackets, in its canonical text form ({@code [0:0::1]} is {@code ::1}). A pattern without
 * a port matches every port. {@code *.example.com} matches any name that ends in {@code
 * .example.com} ({@code a.example.com}, {@code a.b.example.com}), not {@code example.com} itself,
 * and needs at least two labels after the star: {@code *} or {@code *.com} would name half the
 * internet, which is what no flag at all already means.
 *
 * <p>Other spellings of an address ({@code 127.1}, {@code 2130706433}) are not literals here: they
 * are names, which match only a pattern spelled the same way. That is the safe direction: an
 * allow-list entry for {@code 127.0.0.1} does not let {@code 2130706433} through.
 *
 * @param host the normalised host, without the {@code *.} of a wildcard
 * @param wildcard true for {@code *.host}: any name below {@code host}
 * @param port 1 to 65535, or -1 for any port
 */
public record HostPattern(String host, boolean wildcard, int port) {

  public static final int ANY_PORT = -1;

  public HostPattern {
    host = normalize(Objects.requireNonNull(host, "host"));
    if (port != ANY_PORT && (port < 1 || port > 65535)) {
      throw new IllegalArgumentException("port " + port + " (expected: 1 to 65535)");
    }
  }

  /**
   * Reads a pattern as an operator writes it.
   *
   * @throws IllegalArgumentException with a one-line message naming the value and what was expected
   */
  public static HostPattern parse(String text) {
    if (text == null || text.isBlank()) {
      throw bad(text, "an empty pattern");
    }
    String s = text.strip();
    String host;
    int port = ANY_PORT;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0) {
        throw bad(text, "an IPv6 address without its closing ']'");
      }
      host = s.substring(1, close);
      String rest = s.substring(close + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw bad(text, "something other than :PORT after ']'");
        }
        port = port(text, rest.substring(1));
      }
      if (!NetUtil.isValidIpV6Address(host)) {
        throw bad(text, "'" + host + "' between brackets, which is not an IPv6 address");
      }
    } else if (s.indexOf(':') != s.lastIndexOf(':')) {
      // Two colons or more: a bare IPv6 address, which cannot carry a port.
      host = s;
      if (!NetUtil.isValidIpV6Address(host)) {
        throw bad(
            text,
            "something that is not an IPv6 address (write one with a port as [ADDRESS]:PORT)");
      }
    } else {
      int colon = s.indexOf(':');
      host = colon < 0 ? s : s.substring(0, colon);
      if (colon >= 0) {
        port = port(text, s.substring(colon + 1));
      }
    }
    boolean wildcard = false;
    if (host.startsWith("*.")) {
      wildcard = true;
      host = host.substring(2);
    }
    String normal = normalize(host);
    if (normal.indexOf(':') < 0) {
      if (normal.isEmpty() || normal.length() > 253 || !isName(normal)) {
        throw bad(
            text,
            "an invalid host name (letters, digits, '-', '_' and '.'; an IPv6 address in"
                + " brackets)");
      }
      if (wildcard && (normal.indexOf('.') < 0 || NetUtil.isValidIpV4Address(normal))) {
        throw bad(
            text, "a wildcard over a top-level domain or an address (expected e.g. *.example.com)");
      }
    } else if (wildcard) {
      throw bad(text, "a wildcard over an IPv6 address");
    }
    return new HostPattern(normal, wildcard, port);
  }

  /**
   * A host as compared here: lower case, no trailing dot, an IPv6 address without brackets in its
   * canonical form.
   */
  public static String normalize(String host) {
    String h = host;
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.endsWith(".") && h.length() > 1) {
      h = h.substring(0, h.length() - 1);
    }
    h = h.toLowerCase(Locale.ROOT);
    int percent = h.indexOf('%');
    if (h.indexOf(':') >= 0
        && NetUtil.isValidIpV6Address(percent < 0 ? h : h.substring(0, percent))) {
      byte[] bytes =
          NetUtil.createByteArrayFromIpAddressString(percent < 0 ? h : h.substring(0, percent));
      if (bytes != null && bytes.length == 16) {
        try {
          // Inet6Address, not InetAddress.getByAddress, which makes ::ffff:a.b.c.d an IPv4 address.
          return NetUtil.toAddressString(Inet6Address.getByAddress(null, bytes, -1));
        } catch (UnknownHostException impossible) {
          return h; // only for a byte array of the wrong length
        }
      }
    }
    return h;
  }

  /** True when {@code host} (any spelling {@link #normalize} evens out) on {@code port} matches. */
  public boolean matches(String host, int port) {
    if (this.port != ANY_PORT && this.port != port) {
      return false;
    }
    String h = normalize(host);
    if (wildcard) {
      return h.length() > this.host.length() + 1
          && h.endsWith(this.host)
          && h.charAt(h.length() - this.host.length() - 1) == '.';
    }
    return h.equals(this.host);
  }

  /**
   * True when a registry as a request names it ({@code host} or {@code host:port}, an IPv6 host in
   * brackets) matches; a registry without a port is on {@code defaultPort}.
   */
  public boolean matchesAuthority(String authority, int defaultPort) {
    int colon = authority.lastIndexOf(':');
    boolean hasPort =
        authority.startsWith("[")
            ? colon > authority.lastIndexOf(']')
            : colon >= 0 && authority.indexOf(':') == colon;
    if (!hasPort) {
      return matches(authority, defaultPort);
    }
    try {
      return matches(
          authority.substring(0, colon), Integer.parseInt(authority.substring(colon + 1)));
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /**
   * True for a pattern that names one host (no wildcard): only those may reach private addresses.
   */
  public boolean isExplicit() {
    return !wildcard;
  }

  /** The pattern as an operator would write it. */
  @Override
  public String toString() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return (wildcard ? "*." : "") + h + (port == ANY_PORT ? "" : ":" + port);
  }

  private static boolean isName(String h) {
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      if (!ok) {
        return false;
      }
    }
    return !h.startsWith(".") && !h.contains("..");
  }

  private static int port(String text, String digits) {
    if (digits.isEmpty()
        || digits.length() > 5
        || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw bad(text, "port '" + digits + "', which is not a number from 1 to 65535");
    }
    int p = Integer.parseInt(digits);
    if (p < 1 || p > 65535) {
      throw bad(text, "port " + p + ", outside 1 to 65535");
    }
    return p;
  }

  private static IllegalArgumentException bad(String text, String what) {
    return new IllegalArgumentException(
        "registry pattern '"
            + text
            + "': "
            + what
            + " (expected: HOST, HOST:PORT, *.DOMAIN or [IPv6]:PORT, e.g. ghcr.io or"
            + " 127.0.0.1:5000)");
  }
}
