package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.failure;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.IntegrityException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.FakeRegistry;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The digest checks the client makes (docs: small blobs are digest-checked; what a registry says it
 * stored must be what was sent): blob bytes that are not their digest, a manifest or a blob the
 * registry says it stored under another digest. Each is an {@link IntegrityException}, never the
 * wrong bytes, and names the operation, not the foreign content.
 */
class DigestCheckTest {

  private static final byte[] WANTED = "the narinfo asked for".getBytes(StandardCharsets.UTF_8);
  private static final byte[] OTHER =
      "FOREIGN-BYTES-of-another-file".getBytes(StandardCharsets.UTF_8);

  private FakeRegistry fake;
  private RegistryClient client;

  @AfterEach
  void close() {
    if (client != null) {
      client.close();
    }
    if (fake != null) {
      fake.close();
    }
  }

  private RegistryClient client() {
    client = new RegistryClient(RegistryClientConfig.builder().tls(false).maxAttempts(1).build());
    return client;
  }

  private RepositoryRef repo() {
    return RepositoryRef.of(fake.address(), "owner/cache");
  }

  @Test
  void blobBytesThatAreNotTheirDigestAreRefused() {
    fake = new FakeRegistry((n, req, reply) -> reply.send(200, "application/octet-stream", OTHER));
    Throwable t =
        failure(
            client()
                .getBlobBytes(
                    repo(), Digest.sha256(WANTED), 1 << 20, Credentials.anonymous(), null));
    IntegrityException e = assertInstanceOf(IntegrityException.class, t);
    assertTrue(e.getMessage().contains("other content than the digest names"), e.getMessage());
    assertFalse(e.getMessage().contains("FOREIGN"), e.getMessage());
  }

  @Test
  void aManifestTheRegistryStoredUnderAnotherDigestIsRefused() {
    fake =
        new FakeRegistry(
            (n, req, reply) ->
                reply.send(
                    201,
                    "application/json",
                    new byte[0],
                    "Docker-Content-Digest",
                    Digest.sha256(OTHER).toString()));
    Descriptor layer =
        new Descriptor("application/octet-stream", Digest.sha256(WANTED), WANTED.length);
    Descriptor config =
        new Descriptor(
            "application/vnd.oci.image.config.v1+json", Digest.sha256(new byte[] {'{', '}'}), 2);
    Throwable t =
        failure(
            client()
                .putManifest(
                    repo(),
                    "k.narinfo",
                    ImageLayout.manifest("k.narinfo", layer, config),
                    Credentials.anonymous(),
                    null));
    IntegrityException e = assertInstanceOf(IntegrityException.class, t);
    assertTrue(e.getMessage().contains("stored another digest"), e.getMessage());
  }

  @Test
  void aBlobTheRegistryStoredUnderAnotherDigestIsRefused() {
    fake =
        new FakeRegistry(
            (n, req, reply) -> {
              if (req.method().equals("HEAD")) {
                reply.send(404, "application/json", new byte[0]);
              } else {
                // A single-POST upload (?digest=) answered as stored, under another digest.
                reply.send(
                    201,
                    "application/json",
                    new byte[0],
                    "Docker-Content-Digest",
                    Digest.sha256(OTHER).toString());
              }
            });
    Throwable t =
        failure(
            client()
                .putBlob(
                    repo(),
                    WANTED,
                    null,
                    "application/octet-stream",
                    Credentials.anonymous(),
                    null));
    IntegrityException e = assertInstanceOf(IntegrityException.class, t);
    assertTrue(e.getMessage().contains("stored another digest"), e.getMessage());
    assertTrue(
        fake.requestLines().stream().anyMatch(l -> l.startsWith("POST ")),
        fake.requestLines().toString());
  }
}
