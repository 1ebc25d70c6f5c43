package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.FakeRegistry;
import io.netty.channel.EventLoop;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * {@link RegistryClient#locateBlob}: one blob GET, with the caller's credentials, whose redirect is
 * returned and not followed (its small body read, its connection reused), and whose 200 is the
 * download itself.
 */
class LocateBlobTest {

  private static final Digest DIGEST = new Digest("e".repeat(64));

  private static RegistryClient client() {
    return new RegistryClient(
        RegistryClientConfig.builder()
            .tls(false)
            .maxAttempts(2)
            .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
            .build());
  }

  @Test
  void aRedirectIsReturnedNotFollowedWithTheRegistrysDateAndItsConnectionIsReused()
      throws Exception {
    try (FakeRegistry registry =
            new FakeRegistry(
                (n, req, reply) -> {
                  if (!req.headers().contains("Authorization")) {
                    reply.send(401, "{}", "WWW-Authenticate", "Basic realm=\"r\"");
                  } else {
                    reply.send(
                        307,
                        "text/html",
                        "<a href=\"...\">Temporary Redirect</a>".getBytes(StandardCharsets.UTF_8),
                        "Location",
                        "http://localhost:1/blobs/e?X-Expires=99&X-Signature=s",
                        "Date",
                        "Mon, 07 Dec 2026 10:00:00 GMT");
                  }
                });
        RegistryClient client = client()) {
      RepositoryRef repo = RepositoryRef.of(registry.address(), "a/b");
      // Connections are pooled per event loop: both calls on one.
      EventLoop loop = client.group().next();
      BlobLocation first =
          await(client.locateBlob(repo, DIGEST, Credentials.basic("u", "p"), loop));
      BlobLocation.Elsewhere e = assertInstanceOf(BlobLocation.Elsewhere.class, first);
      assertEquals(307, e.status());
      assertEquals(
          URI.create("http://localhost:1/blobs/e?X-Expires=99&X-Signature=s"), e.location());
      assertEquals(URI.create("http://" + registry.address()), e.registry());
      assertEquals(Instant.parse("2026-12-07T10:00:00Z"), e.date());
      assertTrue(!e.toString().contains("X-Signature"), e.toString());
      await(client.locateBlob(repo, DIGEST, Credentials.basic("u", "p"), loop));
      // 401, 307, 307: nothing went to the Location, and the registry saw the credentials.
      assertEquals(3, registry.requests().size());
      assertNotNull(registry.requests().get(2).headers().get("Authorization"));
      assertEquals(
          1,
          client.openConnections(registry.address()),
          "the redirect's connection went back to the pool");
    }
  }

  @Test
  void aRelativeLocationIsResolvedAgainstTheRegistry() throws Exception {
    try (FakeRegistry registry =
            new FakeRegistry(
                (n, req, reply) ->
                    reply.send(302, "text/plain", new byte[0], "Location", "/storage/e?sig=s"));
        RegistryClient client = client()) {
      RepositoryRef repo = RepositoryRef.of(registry.address(), "a/b");
      BlobLocation.Elsewhere e =
          assertInstanceOf(
              BlobLocation.Elsewhere.class,
              await(client.locateBlob(repo, DIGEST, Credentials.anonymous(), null)));
      assertEquals(URI.create("http://" + registry.address() + "/storage/e?sig=s"), e.location());
    }
  }

  @Test
  void aRegistryThatServesTheBytesGivesTheDownloadOfThatOneAnswer() throws Exception {
    byte[] blob = "the blob".getBytes(StandardCharsets.UTF_8);
    try (FakeRegistry registry =
            new FakeRegistry((n, req, reply) -> reply.send(200, "application/octet-stream", blob));
        RegistryClient client = client()) {
      RepositoryRef repo = RepositoryRef.of(registry.address(), "a/b");
      BlobLocation.Here here =
          assertInstanceOf(
              BlobLocation.Here.class,
              await(client.locateBlob(repo, DIGEST, Credentials.anonymous(), null)));
      CollectingConsumer consumer = new CollectingConsumer(1024);
      here.download().start(consumer);
      assertEquals(blob.length, await(consumer.done));
      assertEquals("the blob", new String(consumer.bytes(), StandardCharsets.UTF_8));
      assertEquals(1, registry.requests().size());
    }
  }

  @Test
  void aRedirectWithoutLocationAndAMissingBlobAreErrors() throws Exception {
    try (FakeRegistry registry =
            new FakeRegistry(
                (n, req, reply) -> {
                  if (n == 1) {
                    reply.send(307, "text/plain", new byte[0]);
                  } else {
                    reply.send(
                        404,
                        "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\"}]}");
                  }
                });
        RegistryClient client = client()) {
      RepositoryRef repo = RepositoryRef.of(registry.address(), "a/b");
      ExecutionException noLocation =
          assertThrows(
              ExecutionException.class,
              () -> client.locateBlob(repo, DIGEST, Credentials.anonymous(), null).get());
      assertInstanceOf(RegistryException.Protocol.class, noLocation.getCause());
      ExecutionException missing =
          assertThrows(
              ExecutionException.class,
              () -> client.locateBlob(repo, DIGEST, Credentials.anonymous(), null).get());
      assertInstanceOf(RegistryException.NotFound.class, missing.getCause());
    }
  }
}
