package dev.oranc.testkit;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * How the {@link RegistryFlavour#TOKEN} registry's token service mints tokens: how long a token is
 * valid ({@code exp - iat} in the JWT) and what its response says in {@code expires_in}. The two
 * differ on purpose in expiry tests: a token that is already invalid but advertised as good for
 * five minutes makes the registry refuse a token the client believes valid.
 *
 * <p>Distribution accepts a token up to 60 s after its {@code exp} (its clock-skew leeway), so an
 * invalid token needs a lifetime below -60 s; {@link #expired()} uses -5 min.
 *
 * @param lifetime validity of the JWT; negative mints tokens that expired already
 * @param expiresIn the {@code expires_in} seconds to send; empty sends the lifetime's seconds
 * @param sendExpiresIn whether the response has an {@code expires_in} field at all (ghcr.io's has
 *     none)
 */
public record TokenPolicy(Duration lifetime, OptionalLong expiresIn, boolean sendExpiresIn) {

  /** Five-minute tokens that say so in {@code expires_in}. */
  public static final TokenPolicy DEFAULT =
      new TokenPolicy(Duration.ofMinutes(5), OptionalLong.empty(), true);

  public TokenPolicy {
    Objects.requireNonNull(lifetime, "lifetime");
    Objects.requireNonNull(expiresIn, "expiresIn");
  }

  /** Tokens that expired five minutes ago but are advertised as good for five minutes. */
  public static TokenPolicy expired() {
    return new TokenPolicy(Duration.ofMinutes(-5), OptionalLong.of(300), true);
  }

  public TokenPolicy withLifetime(Duration lifetime) {
    return new TokenPolicy(lifetime, expiresIn, sendExpiresIn);
  }

  public TokenPolicy withExpiresIn(long seconds) {
    return new TokenPolicy(lifetime, OptionalLong.of(seconds), true);
  }

  public TokenPolicy withoutExpiresIn() {
    return new TokenPolicy(lifetime, expiresIn, false);
  }

  /** The {@code expires_in} value the response carries (when {@link #sendExpiresIn()}). */
  public long advertisedExpiresIn() {
    return expiresIn.orElse(lifetime.toSeconds());
  }
}
