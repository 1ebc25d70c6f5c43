package dev.oranc.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.proxy.metrics.ServerMetrics;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@link NarRedirect}'s decisions as values: which registry redirects may be handed to a client,
 * and for how long a presigned URL is handed out again, from each store's expiry parameters.
 */
class NarRedirectTest {

  private static final URI HTTPS_REGISTRY = URI.create("https://registry.example");
  private static final URI HTTP_REGISTRY = URI.create("http://127.0.0.1:5000");

  @Test
  void anHttpsRegistrysRedirectToHttpsStorageIsHandedOut() {
    URI storage =
        URI.create("https://storage.example/blobs/sha256/ab?se=2030-01-01T00%3A00%3A00Z&sig=x");
    assertEquals(
        new NarRedirect.Decision.Hand(storage), NarRedirect.decide(storage, HTTPS_REGISTRY));
  }

  @Test
  void anHttpsRegistrysRedirectToPlainHttpIsRefused() {
    NarRedirect.Decision d =
        NarRedirect.decide(
            URI.create("http://storage.example/blobs/x?X-Expires=1&X-Signature=s"), HTTPS_REGISTRY);
    NarRedirect.Decision.Refuse refuse = assertInstanceOf(NarRedirect.Decision.Refuse.class, d);
    assertTrue(refuse.reason().contains("plain http"), refuse.reason());
  }

  @Test
  void aPlainHttpRegistryMayRedirectToPlainHttp() {
    URI storage = URI.create("http://localhost:9000/blobs/x?X-Expires=1&X-Signature=s");
    assertEquals(
        new NarRedirect.Decision.Hand(storage), NarRedirect.decide(storage, HTTP_REGISTRY));
  }

  @Test
  void aUrlWithUserInformationIsNeverHandedOut() {
    NarRedirect.Decision d =
        NarRedirect.decide(URI.create("https://user:secret@storage.example/x"), HTTPS_REGISTRY);
    assertInstanceOf(NarRedirect.Decision.Refuse.class, d);
  }

  @Test
  void otherSchemesAndRelativeUrlsAreRefused() {
    assertInstanceOf(
        NarRedirect.Decision.Refuse.class,
        NarRedirect.decide(URI.create("ftp://storage.example/x"), HTTPS_REGISTRY));
    assertInstanceOf(
        NarRedirect.Decision.Refuse.class, NarRedirect.decide(URI.create("/x"), HTTPS_REGISTRY));
    assertInstanceOf(
        NarRedirect.Decision.Refuse.class,
        NarRedirect.decide(URI.create("javascript:alert(1)"), HTTPS_REGISTRY));
  }

  @Test
  void aRedirectToTheRegistrysOwnOriginIsFollowedNotHandedOut() {
    // The client would need the registry's credentials there, which it must not get.
    assertInstanceOf(
        NarRedirect.Decision.Follow.class,
        NarRedirect.decide(
            URI.create("https://REGISTRY.example:443/v2/a/b/blobs/x"), HTTPS_REGISTRY));
    assertInstanceOf(
        NarRedirect.Decision.Follow.class,
        NarRedirect.decide(URI.create("http://127.0.0.1:5000/elsewhere"), HTTP_REGISTRY));
    // Another port is another origin.
    assertInstanceOf(
        NarRedirect.Decision.Hand.class,
        NarRedirect.decide(URI.create("http://127.0.0.1:5001/elsewhere"), HTTP_REGISTRY));
  }

  private static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");
  private static final Duration TTL = Duration.ofSeconds(60);

  @Test
  void epochSecondExpiriesAreReadGhcrLikeAndS3SigV2() {
    URI ghcrLike =
        URI.create(
            "http://s/blobs/x?X-Expires="
                + NOW.plusSeconds(300).getEpochSecond()
                + "&X-Signature=ab");
    assertEquals(Optional.of(NOW.plusSeconds(300)), NarRedirect.expiry(ghcrLike));
    assertEquals(Duration.ofSeconds(150), NarRedirect.remembered(ghcrLike, NOW, TTL));
    URI sigV2 =
        URI.create(
            "https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Expires="
                + NOW.plusSeconds(120).getEpochSecond()
                + "&Signature=s");
    assertEquals(Duration.ofSeconds(60), NarRedirect.remembered(sigV2, NOW, TTL));
  }

  @Test
  void s3SigV4AndGcsV4ExpiriesAreTheirDatePlusTheirSeconds() {
    URI sigV4 =
        URI.create(
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=A%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T100000Z"
                + "&X-Amz-Expires=200&X-Amz-SignedHeaders=host&X-Amz-Signature=ab");
    assertEquals(Optional.of(NOW.plusSeconds(200)), NarRedirect.expiry(sigV4));
    assertEquals(Duration.ofSeconds(100), NarRedirect.remembered(sigV4, NOW, TTL));
    URI gcs =
        URI.create(
            "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                + "&X-Goog-Date=20261207T095900Z&X-Goog-Expires=900&X-Goog-Signature=ab");
    assertEquals(Optional.of(NOW.plusSeconds(840)), NarRedirect.expiry(gcs));
  }

  @Test
  void azureSasExpiryIsItsSeTimeGhcrIosStorage() {
    URI sas =
        URI.create(
            "https://pkg-containers.githubusercontent.com/ghcr1/blobs/sha256:ab"
                + "?se=2026-12-07T10%3A05%3A00Z&sig=abc%3D&sp=r&spr=https&sr=b&sv=2019-12-12");
    assertEquals(Optional.of(NOW.plusSeconds(300)), NarRedirect.expiry(sas));
    assertEquals(Duration.ofSeconds(150), NarRedirect.remembered(sas, NOW, TTL));
  }

  @Test
  void aLongLifeIsCappedAndAShortOneIsNotRememberedAtAll() {
    URI week = URI.create("https://s/x?X-Expires=" + NOW.plus(Duration.ofDays(7)).getEpochSecond());
    assertEquals(NarRedirect.MAX_REMEMBERED, NarRedirect.remembered(week, NOW, TTL));
    URI almostGone = URI.create("https://s/x?X-Expires=" + NOW.plusSeconds(8).getEpochSecond());
    assertEquals(Duration.ZERO, NarRedirect.remembered(almostGone, NOW, TTL));
    URI expired = URI.create("https://s/x?X-Expires=" + NOW.minusSeconds(8).getEpochSecond());
    assertEquals(Duration.ZERO, NarRedirect.remembered(expired, NOW, TTL));
  }

  @Test
  void theEarliestOfSeveralExpiriesCounts() {
    URI both =
        URI.create(
            "https://s/x?Expires="
                + NOW.plusSeconds(100).getEpochSecond()
                + "&se=2026-12-07T10%3A05%3A00Z");
    assertEquals(Optional.of(NOW.plusSeconds(100)), NarRedirect.expiry(both));
  }

  @Test
  void aUrlThatSaysNothingOrSomethingUnreadableGetsTheTtl() {
    assertEquals(TTL, NarRedirect.remembered(URI.create("https://s/x"), NOW, TTL));
    assertEquals(TTL, NarRedirect.remembered(URI.create("https://s/x?sig=abc"), NOW, TTL));
    assertEquals(TTL, NarRedirect.remembered(URI.create("https://s/x?X-Expires=soon"), NOW, TTL));
    assertEquals(TTL, NarRedirect.remembered(URI.create("https://s/x?se=tomorrow"), NOW, TTL));
    assertEquals(
        TTL,
        NarRedirect.remembered(URI.create("https://s/x?X-Amz-Date=20261207T100000Z"), NOW, TTL));
  }

  @Test
  void onlyWholeNarGetsThatAreNotS3SignedAreRedirected() {
    NarRedirect on =
        new NarRedirect(
            true, null, new ServerMetrics(), TTL, Ticker.systemTicker(), Clock.systemUTC());
    assertTrue(on.applies("nar/0abc.nar.xz", false, null));
    assertFalse(on.applies("0abc.narinfo", false, null));
    assertFalse(on.applies("nix-cache-info", false, null));
    assertFalse(on.applies("nar/0abc.nar.xz", true, null));
    assertFalse(on.applies("nar/0abc.nar.xz", false, new ByteRange(0, 9, 100)));
    NarRedirect off =
        new NarRedirect(
            false, null, new ServerMetrics(), TTL, Ticker.systemTicker(), Clock.systemUTC());
    assertFalse(off.applies("nar/0abc.nar.xz", false, null));
  }

  @Test
  void theRedirectIsNeverStoredByASharedCacheWhoeverAsked() {
    CacheHeaders headers = new CacheHeaders(Duration.ofSeconds(60), Duration.ofSeconds(30));
    assertEquals("no-store", headers.cacheControl(307, "nar/0abc.nar.xz", false));
    assertEquals("no-store", headers.cacheControl(307, "nar/0abc.nar.xz", true));
  }
}
