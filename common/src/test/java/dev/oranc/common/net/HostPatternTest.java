package dev.oranc.common.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Registry patterns as operators write them: parsing, normalisation, matching. */
class HostPatternTest {

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "ghcr.io              | ghcr.io     | false | -1",
        "GHCR.IO.             | ghcr.io     | false | -1",
        "127.0.0.1:5000       | 127.0.0.1   | false | 5000",
        "localhost:5000       | localhost   | false | 5000",
        "*.Example.com        | example.com | true  | -1",
        "*.example.com:443    | example.com | true  | 443",
        "[::1]:5000           | ::1         | false | 5000",
        "[0:0:0:0:0:0:0:1]    | ::1         | false | -1",
        "::1                  | ::1         | false | -1",
        "[FE80::A]            | fe80::a     | false | -1",
        "my_registry.lan      | my_registry.lan | false | -1",
      })
  void parsesAndNormalises(String text, String host, boolean wildcard, int port) {
    HostPattern p = HostPattern.parse(text);
    assertEquals(new HostPattern(host, wildcard, port), p);
    assertEquals(p, HostPattern.parse(p.toString()), "toString reads back");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        " ",
        "*",
        "*.com",
        "*.127.0.0.1",
        "ghcr.io:",
        "ghcr.io:0",
        "ghcr.io:65536",
        "ghcr.io:http",
        "[::1",
        "[::1]x",
        "[nope]:5000",
        "a..b",
        ".ghcr.io",
        "ghcr.io/owner",
        "http://ghcr.io",
        "gh cr.io",
        "1:2:3",
        "*.[::1]",
        "ghcr.io:5000:1"
      })
  void refusesBadPatternsWithAOneLineMessageNamingThem(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> HostPattern.parse(text));
    assertTrue(e.getMessage().startsWith("registry pattern '" + text + "': "), e.getMessage());
    assertTrue(e.getMessage().contains("expected: HOST, HOST:PORT"), e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
  }

  @Test
  void aPatternWithoutAPortMatchesEveryPort() {
    HostPattern p = HostPattern.parse("127.0.0.1");
    assertTrue(p.matches("127.0.0.1", 5000));
    assertTrue(p.matches("127.0.0.1", 443));
    assertFalse(p.matches("127.0.0.2", 5000));
    HostPattern withPort = HostPattern.parse("127.0.0.1:5000");
    assertTrue(withPort.matches("127.0.0.1", 5000));
    assertFalse(withPort.matches("127.0.0.1", 5001));
  }

  @Test
  void namesCompareCaseInsensitivelyWithoutTheTrailingDot() {
    HostPattern p = HostPattern.parse("ghcr.io");
    assertTrue(p.matches("GHCR.io", 443));
    assertTrue(p.matches("ghcr.io.", 443));
    assertFalse(p.matches("ghcr.io.evil.example", 443));
    assertFalse(p.matches("xghcr.io", 443));
  }

  @Test
  void aWildcardMatchesNamesBelowItButNotItself() {
    HostPattern p = HostPattern.parse("*.example.com");
    assertTrue(p.matches("a.example.com", 443));
    assertTrue(p.matches("A.B.Example.COM.", 443));
    assertFalse(p.matches("example.com", 443));
    assertFalse(p.matches("badexample.com", 443));
    assertFalse(p.matches("example.com.evil.test", 443));
    assertFalse(p.isExplicit());
    assertTrue(HostPattern.parse("example.com").isExplicit());
  }

  @Test
  void ipv6AddressesCompareInTheirCanonicalForm() {
    HostPattern p = HostPattern.parse("[::1]:5000");
    assertTrue(p.matches("0:0:0:0:0:0:0:1", 5000));
    assertTrue(p.matches("[::1]", 5000));
    assertFalse(p.matches("::2", 5000));
  }

  @Test
  void otherSpellingsOfAnAddressAreNamesThatDoNotMatch() {
    HostPattern p = HostPattern.parse("127.0.0.1");
    assertFalse(p.matches("127.1", 80));
    assertFalse(p.matches("2130706433", 80));
    assertFalse(p.matches("0x7f000001", 80));
  }

  @Test
  void registriesAsRequestsNameThem() {
    HostPattern any = HostPattern.parse("127.0.0.1");
    assertTrue(any.matchesAuthority("127.0.0.1:5000", 443));
    HostPattern https = HostPattern.parse("ghcr.io:443");
    assertTrue(https.matchesAuthority("ghcr.io", 443), "no port: the scheme's");
    assertFalse(https.matchesAuthority("ghcr.io", 80));
    assertFalse(https.matchesAuthority("ghcr.io:8443", 443));
    HostPattern v6 = HostPattern.parse("[::1]:5000");
    assertTrue(v6.matchesAuthority("[::1]:5000", 443));
    assertFalse(v6.matchesAuthority("[::1]", 443));
    assertFalse(any.matchesAuthority("127.0.0.1:x", 443));
  }
}
