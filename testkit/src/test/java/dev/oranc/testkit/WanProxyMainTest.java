package dev.oranc.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** bench/wan's proxy process: its command line and the counts it reports (no sockets here). */
class WanProxyMainTest {

  @Test
  void parsesAnUpstreamWithRoundTripAndRate() {
    WanProxyMain.Arguments a =
        WanProxyMain.Arguments.parse(
            new String[] {
              "--upstream",
              "127.0.0.1:5000",
              "--address-file",
              "/tmp/a",
              "--rtt-ms",
              "40",
              "--rate",
              "1000"
            });
    assertEquals(5000, a.upstream().getPort());
    assertFalse(a.ghcr());
    assertEquals(Path.of("/tmp/a"), a.addressFile());
    assertEquals(Duration.ofMillis(40), a.roundTrip());
    assertEquals(1000, a.rate());
  }

  @Test
  void refusesWhatItCannotRunWithALineSayingWhy() {
    assertEquals(
        "give exactly one of --upstream HOST:PORT and --ghcr",
        assertThrows(
                IllegalArgumentException.class,
                () -> WanProxyMain.Arguments.parse(new String[] {"--address-file", "/tmp/a"}))
            .getMessage());
    assertEquals(
        "give exactly one of --upstream HOST:PORT and --ghcr",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    WanProxyMain.Arguments.parse(
                        new String[] {
                          "--ghcr", "--upstream", "127.0.0.1:1", "--address-file", "a"
                        }))
            .getMessage());
    assertEquals(
        "--address-file FILE is required",
        assertThrows(
                IllegalArgumentException.class,
                () -> WanProxyMain.Arguments.parse(new String[] {"--ghcr"}))
            .getMessage());
    assertEquals(
        "--rtt-ms wants a whole number, not '4o'",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    WanProxyMain.Arguments.parse(
                        new String[] {"--ghcr", "--address-file", "a", "--rtt-ms", "4o"}))
            .getMessage());
    assertEquals(
        "--rtt-ms and --rate must not be negative",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    WanProxyMain.Arguments.parse(
                        new String[] {"--ghcr", "--address-file", "a", "--rtt-ms", "-1"}))
            .getMessage());
    assertEquals(
        "--upstream wants HOST:PORT, not 'registry'",
        assertThrows(
                IllegalArgumentException.class,
                () -> WanProxyMain.Arguments.parse(new String[] {"--upstream", "registry"}))
            .getMessage());
    assertEquals(
        "--rate needs a value",
        assertThrows(
                IllegalArgumentException.class,
                () -> WanProxyMain.Arguments.parse(new String[] {"--ghcr", "--rate"}))
            .getMessage());
    assertEquals(
        "unknown argument '--rtt'",
        assertThrows(
                IllegalArgumentException.class,
                () -> WanProxyMain.Arguments.parse(new String[] {"--rtt", "40"}))
            .getMessage());
  }

  private static CountingProxy.Timing at(long arrivedMillis, long answeredMillis) {
    return new CountingProxy.Timing(arrivedMillis * 1_000_000, answeredMillis * 1_000_000);
  }

  @Test
  void serialRoundTripsFollowWhatWasSentAfterAnAnswer() {
    Duration rtt = Duration.ofMillis(40);
    // A strict chain of three: each sent once the one before was answered (a round trip later).
    assertEquals(3, WanProxyMain.serialRoundTrips(List.of(at(0, 5), at(45, 50), at(90, 95)), rtt));
    // Two in flight together, then one after both: two rounds, whatever the order of the list.
    assertEquals(2, WanProxyMain.serialRoundTrips(List.of(at(60, 70), at(0, 10), at(1, 20)), rtt));
    // Sent less than a round trip after an answer: it cannot have waited on it.
    assertEquals(1, WanProxyMain.serialRoundTrips(List.of(at(0, 5), at(30, 35)), rtt));
    // No response: nothing waits on it; it still counts as a round of its own.
    assertEquals(1, WanProxyMain.serialRoundTrips(List.of(at(0, 0), at(100, 0)), rtt));
    assertEquals(0, WanProxyMain.serialRoundTrips(List.of(), rtt));
  }

  @Test
  void countsByMethodKindAndStatus() {
    List<ProxiedRequest> seen =
        List.of(
            new ProxiedRequest("HEAD", "/v2/o/c/blobs/sha256:ab", null, 0, 404, 0),
            new ProxiedRequest("HEAD", "/v2/o/c/blobs/sha256:cd", null, 0, 404, 0),
            new ProxiedRequest("POST", "/v2/o/c/blobs/uploads/", "Bearer", 0, 202, 0),
            new ProxiedRequest(
                "PUT", "/v2/o/c/blobs/uploads/u1?digest=sha256:ab", null, 100, 201, 0),
            new ProxiedRequest("PUT", "/v2/o/c/manifests/t", null, 500, 201, 0),
            new ProxiedRequest("GET", "/v2/o/c/tags/list?n=100", null, 0, 200, 30),
            new ProxiedRequest("GET", "/v2/", null, 0, 200, 2));
    String counts = WanProxyMain.counts(seen, null);
    assertEquals(
        String.join(
            "\n",
            "requests 7",
            "GET other 200 1",
            "GET tags 200 1",
            "HEAD blob 404 2",
            "POST upload 202 1",
            "PUT manifest 201 1",
            "PUT upload 201 1",
            "request_bytes 600",
            "response_bytes 32",
            ""),
        counts);
    assertTrue(WanProxyMain.counts(List.of(), null).startsWith("requests 0\n"));
  }
}
