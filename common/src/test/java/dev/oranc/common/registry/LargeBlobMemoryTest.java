package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A 1 GiB blob streamed up and down with the heap capped at 128 MiB: this class runs in its own
 * fork with {@code -Xmx128m} (see common/pom.xml), so holding the blob — or even a tenth of it —
 * would fail with an OutOfMemoryError.
 */
class LargeBlobMemoryTest {

  private static final long SIZE = 1L << 30;
  private static final int PIECE = 64 * 1024;

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.BASIC);

  @Test
  void aGibibyteStreamsUpAndDownInA128MiBHeap() throws Exception {
    long maxHeap = Runtime.getRuntime().maxMemory();
    assertTrue(
        maxHeap <= 160L << 20,
        "this test must run with -Xmx128m, runs with " + (maxHeap >> 20) + " MiB");
    Registry r = registry.get();
    RepositoryRef repo = RepositoryRef.of(r.address(), "large/blob");
    Credentials c = Credentials.basic(Registry.USER, Registry.PASSWORD);
    // Known size in 4 MiB PATCHes; unknown size in 4 MiB PATCHes (a chunk gathered at a time);
    // unknown size in one open-ended PATCH (--upload-chunk-size 0).
    long[][] cases = {
      {SIZE, RegistryClientConfig.DEFAULT_UPLOAD_CHUNK_BYTES},
      {-1, RegistryClientConfig.DEFAULT_UPLOAD_CHUNK_BYTES},
      {-1, 0}
    };
    for (long[] c2 : cases) {
      long declared = c2[0];
      try (RegistryClient client =
          new RegistryClient(
              RegistryClientConfig.builder()
                  .tls(false)
                  .readTimeout(Duration.ofSeconds(60))
                  .uploadChunkBytes((int) c2[1])
                  .build())) {
        MessageDigest sent = Digest.newSha256();
        BlobUpload upload = client.upload(repo, declared, ImageLayout.LAYER_MEDIA_TYPE, c, null);
        byte[] pattern = new byte[PIECE];
        for (long at = 0; at < SIZE; at += PIECE) {
          // Different bytes per run and per piece, so nothing is deduplicated away.
          long v = at * 0x9E3779B97F4A7C15L + declared * 31 + c2[1];
          for (int i = 0; i < PIECE; i += 8) {
            v ^= v << 13;
            v ^= v >>> 7;
            v ^= v << 17;
            pattern[i] = (byte) v;
            pattern[i + 1] = (byte) (v >>> 8);
            pattern[i + 2] = (byte) (v >>> 16);
            pattern[i + 3] = (byte) (v >>> 24);
            pattern[i + 4] = (byte) (v >>> 32);
            pattern[i + 5] = (byte) (v >>> 40);
            pattern[i + 6] = (byte) (v >>> 48);
            pattern[i + 7] = (byte) (v >>> 56);
          }
          sent.update(pattern);
          if (!upload.isWritable()) {
            CompletableFuture<Void> writable = new CompletableFuture<>();
            upload.whenWritable(() -> writable.complete(null));
            await(writable);
          }
          ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(PIECE);
          buf.writeBytes(pattern);
          upload.write(buf);
        }
        Descriptor d = await(upload.finish());
        assertEquals(Digest.of(sent.digest()), d.digest());
        assertEquals(SIZE, d.size());

        BlobDownload download = await(client.getBlob(repo, d.digest(), null, c, null));
        assertEquals(SIZE, download.contentLength());
        CollectingConsumer consumer = new CollectingConsumer(0);
        download.start(consumer);
        assertEquals(SIZE, await(consumer.done));
        assertEquals(d.digest(), consumer.digest());
      }
    }
  }
}
