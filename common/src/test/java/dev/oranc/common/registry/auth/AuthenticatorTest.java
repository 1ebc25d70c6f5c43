package dev.oranc.common.registry.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.registry.transport.Origin;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Auth challenges the {@link Authenticator} remembers per origin: forgotten when unused, bounded in
 * total, and one over the size cap never stored. (The client's side of the same bounds, through
 * real 401s, is in {@code OriginStateTest}.)
 */
class AuthenticatorTest {

  private static final Credentials USER = Credentials.basic("user", "pw");

  @Test
  void challengesAreForgottenWhenUnusedAndBoundedInTotal() {
    AtomicLong now = new AtomicLong();
    Authenticator a = new Authenticator(null, now::get, 20_000);
    Origin origin = new Origin(false, "127.0.0.1", 5000);
    AuthChallenge basic = AuthChallenge.parse("Basic realm=\"registry\"").orElseThrow();

    assertNull(a.authorization(origin, USER, null, null).join(), "anonymous until asked");
    assertTrue(a.learn(origin, basic, USER, null, null));
    assertEquals(USER.basicAuthorization(), a.authorization(origin, USER, null, null).join());
    assertNull(a.authorization(origin, Credentials.anonymous(), null, null).join());

    // Used within the hour, kept; unused for an hour, forgotten: the next request asks again.
    now.addAndGet(Authenticator.CHALLENGE_IDLE.toNanos() - 1);
    assertEquals(USER.basicAuthorization(), a.authorization(origin, USER, null, null).join());
    now.addAndGet(Authenticator.CHALLENGE_IDLE.toNanos() + 1);
    assertNull(a.authorization(origin, USER, null, null).join());
    assertEquals(0, a.challengesRemembered());

    // 100 challenges of ~3,000 characters into a bound of 20,000: a handful stay.
    for (int i = 0; i < 100; i++) {
      AuthChallenge big =
          AuthChallenge.parse("Basic realm=\"" + "r".repeat(3000) + i + "\"").orElseThrow();
      a.learn(new Origin(false, "127.4.0." + (i + 1), 5000), big, USER, null, null);
    }
    long kept = a.challengesRemembered();
    assertTrue(kept >= 1 && kept <= 6, "kept " + kept);

    // One over the cap is never stored.
    AuthChallenge huge =
        AuthChallenge.parse("Basic realm=\"" + "r".repeat(AuthChallenge.MAX_CHARS) + "\"")
            .orElseThrow();
    Origin other = new Origin(false, "127.5.0.1", 5000);
    assertFalse(a.learn(other, huge, USER, null, null));
    assertNull(a.authorization(other, USER, null, null).join());
  }
}
