package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.registry.transport.ConnectionFailure;
import org.junit.jupiter.api.Test;

/** A registry exception keeps what the registry said out of its public message. */
class RegistryErrorMessageTest {

  private static final String MARKER = "X-Injected-MARKER";

  @Test
  void whatTheRegistrySaidIsInTheMessageForTheLogButNotInThePublicOne() {
    RegistryException e =
        new RegistryException.Unavailable(
            "GET manifest r/o/c:t",
            "registry answered 500 Internal Server Error",
            "UNKNOWN: " + MARKER + "\r\nmore",
            RegistryException.Unavailable.Reason.SERVER_ERROR,
            500,
            null);
    assertEquals(
        "GET manifest r/o/c:t: registry answered 500 Internal Server Error", e.publicMessage());
    assertTrue(e.getMessage().contains(MARKER), e.getMessage());
    assertFalse(e.getMessage().contains("\r") || e.getMessage().contains("\n"), e.getMessage());
    IntegrityException i =
        new IntegrityException(
            "GET blob x: the registry sent other content", "its digest is " + MARKER);
    assertFalse(i.publicMessage().contains(MARKER));
    assertTrue(i.getMessage().contains(MARKER));
    RegistryException longOne =
        new RegistryException.Protocol("op", "bad", "y".repeat(10_000), null);
    assertTrue(longOne.getMessage().length() < 400, "foreign text is bounded");
  }

  @Test
  void connectionFailuresHaveAPublicPhraseOfTheirKind() {
    ConnectionFailure banner =
        new ConnectionFailure(
            ConnectionFailure.Kind.MALFORMED,
            "http://127.0.0.1:22 sent a malformed HTTP response: invalid version format: SSH-2.0-"
                + MARKER,
            false,
            null);
    RegistryException e =
        RegistryErrors.fromFailure("GET manifest r/o/c:t", banner.withNote(" (after 2 attempts)"));
    assertEquals(
        "GET manifest r/o/c:t: the registry's answer is not HTTP we can read (after 2 attempts)",
        e.publicMessage());
    assertTrue(e.getMessage().contains("SSH-2.0-" + MARKER), e.getMessage());
    assertTrue(e.getMessage().contains("after 2 attempts"), e.getMessage());
    for (ConnectionFailure.Kind kind : ConnectionFailure.Kind.values()) {
      for (boolean started : new boolean[] {false, true}) {
        ConnectionFailure f =
            new ConnectionFailure(kind, "to http://" + MARKER + ": " + MARKER, started, null);
        assertFalse(f.publicPhrase().contains(MARKER), kind + ": " + f.publicPhrase());
        assertFalse(
            RegistryErrors.fromFailure("op", f).publicMessage().contains(MARKER), kind.toString());
      }
    }
  }
}
