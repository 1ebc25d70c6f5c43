package dev.oranc.common.registry.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.FormatException;
import dev.oranc.common.oci.RepositoryRef;
import java.time.Duration;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/** The small auth values: what they parse, and that none of them shows a secret. */
class AuthValuesTest {

  @Test
  void aBearerChallengeWithCommasInsideQuotesParses() {
    AuthChallenge c =
        AuthChallenge.parse(
                "Bearer"
                    + " realm=\"https://ghcr.io/token\",service=\"ghcr.io\",scope=\"repository:o/c:pull,push\"")
            .orElseThrow();
    assertTrue(c.isBearer());
    assertEquals("https://ghcr.io/token", c.realm());
    assertEquals("ghcr.io", c.service());
    assertEquals("repository:o/c:pull,push", c.scope());
  }

  @Test
  void unquotedParametersAndABasicChallengeParse() {
    AuthChallenge c = AuthChallenge.parse("Bearer realm=https://r/t, service=svc").orElseThrow();
    assertEquals("https://r/t", c.realm());
    assertEquals("svc", c.service());
    assertTrue(AuthChallenge.parse("Basic realm=\"Registry Realm\"").orElseThrow().isBasic());
    assertTrue(AuthChallenge.parse(null).isEmpty());
    assertTrue(AuthChallenge.parse("  ").isEmpty());
  }

  @Test
  void credentialsNeverPrintTheirSecret() {
    Credentials c = Credentials.basic("alice", "hunter2-token");
    assertFalse(c.toString().contains("hunter2"), c.toString());
    assertFalse(c.toString().contains("alice"), c.toString());
    assertFalse(c.fingerprint().contains("hunter2"), c.fingerprint());
    assertEquals("Credentials[anonymous]", Credentials.anonymous().toString());
    assertEquals("Basic YWxpY2U6aHVudGVyMi10b2tlbg==", c.basicAuthorization());
  }

  @Test
  void fingerprintsTellCredentialsApart() {
    assertEquals(
        Credentials.basic("a", "b").fingerprint(), Credentials.basic("a", "b").fingerprint());
    assertNotEquals(
        Credentials.basic("a", "b").fingerprint(), Credentials.basic("a", "c").fingerprint());
    // The separator keeps "ab"+"c" apart from "a"+"bc".
    assertNotEquals(
        Credentials.basic("ab", "c").fingerprint(), Credentials.basic("a", "bc").fingerprint());
    assertNotEquals(Credentials.anonymous().fingerprint(), Credentials.basic("", "").fingerprint());
  }

  @Test
  void tokensAreKeptALittleLessThanTheirLifeAndNeverPrinted() {
    assertEquals(Duration.ofSeconds(54), new BearerToken("t", Duration.ofSeconds(60)).cacheFor());
    assertEquals(Duration.ofSeconds(270), new BearerToken("t", Duration.ofSeconds(300)).cacheFor());
    assertEquals(
        Duration.ofSeconds(3570), new BearerToken("t", Duration.ofSeconds(3600)).cacheFor());
    assertEquals(Duration.ofSeconds(2), new BearerToken("t", Duration.ofSeconds(3)).cacheFor());
    assertEquals(Duration.ZERO, new BearerToken("t", Duration.ofSeconds(1)).cacheFor());
    assertFalse(
        new BearerToken("secret-token", Duration.ofSeconds(60))
            .toString()
            .contains("secret-token"));
  }

  @Test
  void repositoryNamesAreCheckedWithAClearMessage() {
    RepositoryRef ok = RepositoryRef.of("ghcr.io", "owner/cache");
    assertEquals("ghcr.io/owner/cache", ok.toString());
    assertEquals("registry-1.docker.io", RepositoryRef.of("docker.io", "a/b").endpoint());
    assertEquals("127.0.0.1:5000", RepositoryRef.of("127.0.0.1:5000", "a").endpoint());
    RepositoryRef.of("[::1]:5000", "a");
    var e =
        Assertions.assertThrows(
            FormatException.class, () -> RepositoryRef.of("ghcr.io", "Owner/cache"));
    assertTrue(e.getMessage().contains("path component 1"), e.getMessage());
    Assertions.assertThrows(FormatException.class, () -> RepositoryRef.of("ghcr.io", "a//b"));
    Assertions.assertThrows(FormatException.class, () -> RepositoryRef.of("host:99999", "a"));
    Assertions.assertThrows(FormatException.class, () -> RepositoryRef.of("bad host", "a"));
  }
}
