package dev.oranc.proxy.error;

import dev.oranc.common.error.OrancException;
import dev.oranc.common.error.RegistryException;

/**
 * What both faces of an error say (the plain text and S3's XML {@code <Message>}), and what the log
 * says.
 *
 * <p>A body carries the exception's {@linkplain OrancException#publicMessage() public message},
 * which names the registry operation and what happened in our own words, flattened to one line and
 * bounded; never a stack trace, never a credential (messages are written not to carry any), never a
 * byte the registry or a redirect target sent (its error text, a banner, a header, the size of what
 * it sent): those are in {@link #detailLine}, for the log.
 */
public final class ErrorText {

  /** The body of an error that is none of ours: a bug, whose details go to the log only. */
  public static final String INTERNAL_ERROR = "internal error";

  /** What a client is told to wait after a registry's 429 without a {@code Retry-After}. */
  public static final long DEFAULT_RETRY_AFTER_SECONDS = 10;

  static final String ADDRESS_REFUSED =
      "this server does not connect to the registry (or to where it redirects): its address is"
          + " loopback, private, link-local or otherwise internal; an operator serves such a"
          + " registry with --allow-registry HOST[:PORT]";

  private static final int MAX_LINE = 500;
  private static final int MAX_QUOTE = 200;

  private ErrorText() {}

  /**
   * The public message as one bounded, printable line: line breaks and tabs become spaces, any
   * other control character (a NUL or an escape a client put in its path, quoted back by a parser's
   * message) becomes '?', so neither a body nor a log line can be split or made to drive a
   * terminal.
   *
   * <p>A refusal to connect to an address is one fixed line naming the flag, since its message may
   * name a host or an address a registry sent us (it is in the log); a refusal by the allow-list
   * names the registry the client asked for.
   */
  public static String line(Throwable e) {
    if (e instanceof RegistryException.Refused r
        && r.reason() == RegistryException.Refused.Reason.ADDRESS) {
      return ADDRESS_REFUSED;
    }
    return oneLine(e instanceof OrancException o ? o.publicMessage() : e.getMessage(), e);
  }

  /** As {@link #line}, with what the registry said: for the log only. */
  public static String detailLine(Throwable e) {
    return oneLine(e.getMessage(), e);
  }

  /** Seconds a client is told to wait after the registry rate-limited us. */
  public static long retryAfterSeconds(RegistryException.RateLimited limited) {
    return limited.retryAfterSeconds() >= 0
        ? limited.retryAfterSeconds()
        : DEFAULT_RETRY_AFTER_SECONDS;
  }

  /** What a client sent, quoted in a message: one short printable line, whatever it was. */
  public static String abbreviate(String s) {
    StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_QUOTE));
    for (int i = 0; i < s.length() && b.length() < MAX_QUOTE; i++) {
      char c = s.charAt(i);
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    if (b.length() < s.length()) {
      b.append('…');
    }
    return b.toString();
  }

  private static String oneLine(String message, Throwable e) {
    String m = message == null ? e.getClass().getSimpleName() : message;
    String one = m.replaceAll("[\\r\\n\\t]+", " ").strip();
    StringBuilder b = new StringBuilder(Math.min(one.length(), MAX_LINE + 1));
    for (int i = 0; i < one.length() && b.length() < MAX_LINE; i++) {
      char c = one.charAt(i);
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    return one.length() > MAX_LINE ? b + "…" : b.toString();
  }
}
