package dev.oranc.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Integer options with a range; the error names the range. */
abstract class Bounded implements ITypeConverter<Integer> {

  private final int min;
  private final int max;

  Bounded(int min, int max) {
    this.min = min;
    this.max = max;
  }

  @Override
  public Integer convert(String value) {
    try {
      int n = Integer.parseInt(value.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new TypeConversionException(
        "'" + value + "' is not a whole number from " + min + " to " + max);
  }

  /** A whole number from 0 up. */
  static final class Count extends Bounded {
    Count() {
      super(0, Integer.MAX_VALUE);
    }
  }

  static final class AtLeastOne extends Bounded {
    AtLeastOne() {
      super(1, 1_000_000);
    }
  }

  static final class Attempts extends Bounded {
    Attempts() {
      super(1, 100);
    }
  }

  static final class ZstdLevel extends Bounded {
    ZstdLevel() {
      super(-7, 22);
    }
  }

  static final class Priority extends Bounded {
    Priority() {
      super(0, Integer.MAX_VALUE);
    }
  }
}
