package dev.oranc.common.error;

import java.util.Objects;

/**
 * Input that does not follow its format: a tag, a NAR, a narinfo, a key, a hash.
 *
 * <p>Carries what was being read ({@code subject}, e.g. {@code tag 'abc_'}), where in it the
 * problem is ({@code location}, e.g. {@code position 4} or {@code line 3}; may be empty) and what
 * was wrong ({@code problem}). The message reads {@code subject: problem (at location)}.
 */
public final class FormatException extends OrancException {

  private final String subject;
  private final String location;
  private final String problem;

  public FormatException(String subject, String location, String problem) {
    super(format(subject, location, problem));
    this.subject = Objects.requireNonNull(subject, "subject");
    this.location = location == null ? "" : location;
    this.problem = Objects.requireNonNull(problem, "problem");
  }

  public FormatException(String subject, String problem) {
    this(subject, "", problem);
  }

  private static String format(String subject, String location, String problem) {
    return location == null || location.isEmpty()
        ? subject + ": " + problem
        : subject + ": " + problem + " (at " + location + ")";
  }

  public String subject() {
    return subject;
  }

  /** Where in the subject the problem is; empty when it concerns the whole subject. */
  public String location() {
    return location;
  }

  public String problem() {
    return problem;
  }
}
