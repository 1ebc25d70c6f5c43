package dev.oranc.proxy.error;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Kinds of error and their answers, one row per kind: Java 17's stand-in for an exhaustive {@code
 * switch} over the sealed hierarchies. A row for a class answers for its subclasses that have no
 * row of their own (a {@link Rejection} carries its own status); anything without a row gets the
 * fallback, which is for bugs. The tests walk the sealed hierarchies through {@link #hasRowFor}, so
 * a new kind fails there until it is given a row on purpose.
 *
 * @param <A> the answer: one face of the error (plain or S3)
 */
public final class ErrorTable<A> {

  private final Map<Class<?>, Function<Throwable, A>> rows;
  private final Function<Throwable, A> otherwise;

  private ErrorTable(Map<Class<?>, Function<Throwable, A>> rows, Function<Throwable, A> otherwise) {
    this.rows = Map.copyOf(rows);
    this.otherwise = otherwise;
  }

  public static <A> Builder<A> builder() {
    return new Builder<>();
  }

  /** The answer of the nearest row for the error's class or a superclass; else the fallback's. */
  public A answer(Throwable error) {
    Function<Throwable, A> row = row(error.getClass());
    return row == null ? otherwise.apply(error) : row.apply(error);
  }

  /** Whether errors of {@code kind} are answered by a row, not by the fallback. */
  public boolean hasRowFor(Class<? extends Throwable> kind) {
    return row(kind) != null;
  }

  private Function<Throwable, A> row(Class<?> kind) {
    for (Class<?> c = kind; c != null; c = c.getSuperclass()) {
      Function<Throwable, A> row = rows.get(c);
      if (row != null) {
        return row;
      }
    }
    return null;
  }

  /** Collects the rows; {@link #otherwise} ends the table. */
  public static final class Builder<A> {
    private final Map<Class<?>, Function<Throwable, A>> rows = new LinkedHashMap<>();

    private Builder() {}

    public <T extends Throwable> Builder<A> on(Class<T> kind, Function<? super T, A> answer) {
      if (rows.putIfAbsent(kind, t -> answer.apply(kind.cast(t))) != null) {
        throw new IllegalArgumentException("two rows for " + kind.getName());
      }
      return this;
    }

    /** The answer to an error no row names: a bug, so never one that quotes it. */
    public ErrorTable<A> otherwise(Function<Throwable, A> fallback) {
      return new ErrorTable<>(rows, fallback);
    }
  }
}
