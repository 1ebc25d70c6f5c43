package dev.oranc.common.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The hand-written name checks against the regular expressions of the distribution spec they
 * replace, on chosen and on random names.
 */
class RepositoryRefTest {

  private static final Pattern COMPONENT =
      Pattern.compile("[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*");
  private static final Pattern REGISTRY =
      Pattern.compile(
          "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
              + "|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?");

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a",
        "abc",
        "a.b",
        "a_b",
        "a__b",
        "a-b",
        "a---b",
        "a.b_c__d-e",
        "0",
        "",
        "a.",
        ".a",
        "a..b",
        "a___b",
        "a_",
        "-a",
        "a-",
        "A",
        "a/b",
        "a b",
        "é",
        "a.-b",
        "a_-b",
        "ab12-x9"
      })
  void componentsMatchTheSpecsExpression(String s) {
    assertEquals(COMPONENT.matcher(s).matches(), RepositoryRef.isComponent(s, 0, s.length()), s);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "ghcr.io",
        "ghcr.io:443",
        "127.0.0.1:5000",
        "localhost",
        "[::1]",
        "[::1]:5000",
        "a-b.c",
        "-a.b",
        "a-.b",
        "a..b",
        ".a",
        "a.",
        "host:",
        "host:123456",
        "host:12x",
        "[]",
        "[g::1]",
        "my_host",
        "a b",
        "ghcr.io/x",
        "[::1",
        "x:80:80",
        "A.B-C.d"
      })
  void registriesMatchTheExpression(String s) {
    assertEquals(REGISTRY.matcher(s).matches(), RepositoryRef.isRegistry(s), s);
  }

  @Test
  void randomNamesAgreeWithTheExpressions() {
    Random random = new Random(20261129);
    String alphabet = "ab09._-/:[]A";
    for (int n = 0; n < 200_000; n++) {
      StringBuilder sb = new StringBuilder();
      int length = random.nextInt(9);
      for (int i = 0; i < length; i++) {
        sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String s = sb.toString();
      assertEquals(COMPONENT.matcher(s).matches(), RepositoryRef.isComponent(s, 0, s.length()), s);
      assertEquals(REGISTRY.matcher(s).matches(), RepositoryRef.isRegistry(s), s);
    }
  }
}
