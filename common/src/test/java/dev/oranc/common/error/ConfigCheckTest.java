package dev.oranc.common.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The one form of a bad setting. */
class ConfigCheckTest {

  @Test
  void aBadSettingNamesItselfItsValueAndWhatWasExpected() {
    assertEquals(
        "threads: -1 (expected: 0 or more)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ConfigCheck.require(false, "threads", -1, "0 or more"))
            .getMessage());
    ConfigCheck.require(true, "threads", 1, "0 or more");
    assertEquals(
        "idle timeout: PT0S (expected: a positive duration)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ConfigCheck.requirePositive(Duration.ZERO, "idle timeout"))
            .getMessage());
    assertEquals(
        "idle timeout: null (expected: a positive duration)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ConfigCheck.requirePositive(null, "idle timeout"))
            .getMessage());
    assertEquals(
        "grace: PT-1S (expected: 0 or more)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ConfigCheck.requireNonNegative(Duration.ofSeconds(-1), "grace"))
            .getMessage());
    Duration d = Duration.ofSeconds(3);
    assertSame(d, ConfigCheck.requirePositive(d, "x"));
    assertSame(Duration.ZERO, ConfigCheck.requireNonNegative(Duration.ZERO, "x"));
  }
}
