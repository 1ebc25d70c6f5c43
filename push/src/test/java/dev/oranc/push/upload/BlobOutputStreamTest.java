package dev.oranc.push.upload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.RawClient;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The blocking stream over a registry upload: bytes round trip, failures surface, nothing leaks.
 */
class BlobOutputStreamTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  static RegistryClient client;

  @BeforeAll
  static void start() {
    client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .maxAttempts(1)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(20))
                .build());
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  BlobOutputStream stream(String address, String repo) {
    return new BlobOutputStream(
        client.upload(
            RepositoryRef.of(address, repo),
            -1,
            ImageLayout.LAYER_MEDIA_TYPE,
            Credentials.anonymous(),
            null),
        ByteBufAllocator.DEFAULT,
        64 * 1024);
  }

  @Test
  void bytesWrittenInOddPiecesArriveWhole() throws Exception {
    Registry r = registries.get();
    byte[] content = random(9 * 1024 * 1024 + 17); // more than two 4 MiB chunks
    BlobOutputStream out = stream(r.address(), "stream/ok");
    Random sizes = new Random(1);
    for (int at = 0; at < content.length; ) {
      int n = Math.min(content.length - at, 1 + sizes.nextInt(300_000));
      out.write(content, at, n);
      at += n;
    }
    out.write(new byte[0]);
    assertEquals(content.length, out.written());
    Descriptor d = out.finish().get(60, TimeUnit.SECONDS);
    out.close(); // after finish: nothing to abort
    assertEquals(Digest.sha256(content), d.digest());
    assertEquals(content.length, d.size());
    assertEquals(
        Digest.sha256(content).toString(),
        RawClient.digest(r.getBlob("stream/ok", d.digest().toString())));
  }

  @Test
  void aBrokenUploadSurfacesAsAnIOExceptionFromTheWriter() throws Exception {
    Registry r = registries.get();
    try (FaultInjector proxy = new FaultInjector(r.address(), null)) {
      proxy.add(FaultInjector.Rule.of("PATCH", "", FaultInjector.Fault.status(500), -1));
      BlobOutputStream out = stream(proxy.address(), "stream/broken");
      byte[] piece = random(1024 * 1024);
      IOException e =
          assertThrows(
              IOException.class,
              () -> {
                for (int i = 0; i < 64; i++) {
                  out.write(piece);
                }
                out.finish().get(30, TimeUnit.SECONDS);
              });
      assertInstanceOf(UploadFailedException.class, e);
      RegistryException.Unavailable cause =
          assertInstanceOf(RegistryException.Unavailable.class, e.getCause());
      assertTrue(cause.operation().startsWith("PATCH "), cause.getMessage());
      assertThrows(IOException.class, () -> out.write(piece), "no writes after a failure");
      out.close();
    }
  }

  @Test
  void aStreamClosedBeforeItIsFinishedLeavesNoBlob() throws Exception {
    Registry r = registries.get();
    byte[] content = random(300_000);
    BlobOutputStream out = stream(r.address(), "stream/closed");
    out.write(content);
    out.close();
    assertThrows(IOException.class, out::finish);
    assertFalse(r.client().hasBlob("stream/closed", Digest.sha256(content).toString()));
  }
}
