package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.MemorySampler;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A 1 GiB {@code aws s3 cp} — a multipart upload of 128 parts of 8 MiB, 10 at a time — through a
 * server whose JVM has a 256 MiB heap (this class runs in failsafe, in a JVM of its own, {@code
 * -Xmx256m}). Passes only if no part is held in memory: early parts wait in the spool on disk, the
 * registry gets 4 MiB PATCHes. Heap, Netty's direct memory and the spool are sampled; the bytes
 * read back are checked by SHA-256.
 */
class S3MultipartMemoryIT {

  private static final Logger log = LoggerFactory.getLogger(S3MultipartMemoryIT.class);

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.BASIC);

  private static final long SIZE = Long.getLong("oranc.test.multipartBytes", 1L << 30);

  @TempDir Path dir;
  @TempDir Path spool;

  @Test
  void aOneGibMultipartUploadStaysWithinASmallHeap() throws Exception {
    Registry r = registry.get();
    Path file = dir.resolve("big.nar.zst");
    byte[] sha = AwsCli.randomFile(file, SIZE, 1024);
    // The client outruns the registry: nearly the whole file waits in the spool at its peak. A
    // budget above the file keeps this test about memory, not about SlowDown and the CLI's
    // retries (the bound is MultipartTest's).
    try (TestServer server =
        TestServer.start(b -> b.multipartSpoolDir(spool).multipartSpoolBytes(2L << 30))) {
      String bucket = "b" + UUID.randomUUID().toString().substring(0, 8);
      String endpoint = "http://127.0.0.1:" + server.port() + "/" + r.address() + "/s3mem";
      AwsCli aws =
          new AwsCli(
              dir,
              "multipart_threshold = 8MB",
              "multipart_chunksize = 8MB",
              "max_concurrent_requests = 10");
      MemorySampler sampler = MemorySampler.start(() -> server.server.multipart().spoolBytes());
      long t0 = System.nanoTime();
      try {
        aws.ok(
            900,
            "s3",
            "cp",
            file.toString(),
            "s3://" + bucket + "/nar/big.nar.zst",
            "--endpoint-url",
            endpoint,
            "--no-progress");
      } finally {
        sampler.close();
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      Files.delete(file);
      long parts =
          server.server.multipart().directParts() + server.server.multipart().spooledParts();
      log.info(
          "aws s3 cp of {} MiB in {} s ({} MB/s): {} parts, {} spooled; peak heap used {} MiB (max"
              + " {} MiB), peak direct memory {} MiB, peak spool {} MiB",
          SIZE >> 20,
          String.format("%.1f", seconds),
          String.format("%.0f", SIZE / seconds / 1e6),
          parts,
          server.server.multipart().spooledParts(),
          sampler.peakHeap() >> 20,
          Runtime.getRuntime().maxMemory() >> 20,
          sampler.peakDirect() >> 20,
          sampler.peakGauge() >> 20);

      assertTrue(
          Runtime.getRuntime().maxMemory() <= 300L << 20,
          "this test must run with -Xmx256m (failsafe, its own JVM)");
      assertEquals(SIZE / (8 << 20), parts);
      assertTrue(
          server.server.multipart().spooledParts() > 0,
          "parts arrived out of order and were spooled");
      assertTrue(
          sampler.peakDirect() < 64L << 20,
          "direct memory peaked at " + (sampler.peakDirect() >> 20) + " MiB");
      assertTrue(sampler.peakGauge() <= server.server.config().multipartSpoolBytes());
      assertEquals(0, server.server.multipart().spoolBytes());
      server.awaitStreamsSettled();
      assertEquals(0, server.server.metrics().uploads().get());

      HttpResponse<InputStream> get =
          server.http.send(
              HttpRequest.newBuilder(
                      server.uri("/" + r.address() + "/s3mem/" + bucket + "/nar/big.nar.zst"))
                  .timeout(Duration.ofMinutes(10))
                  .header("Authorization", TestServer.basic(Registry.USER, Registry.PASSWORD))
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, get.statusCode());
      try (InputStream in = get.body()) {
        assertEquals(AwsCli.hex(sha), AwsCli.hex(AwsCli.sha256(in)));
      }
    }
  }
}
