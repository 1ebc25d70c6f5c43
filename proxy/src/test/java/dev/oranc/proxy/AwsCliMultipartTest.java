package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's {@code aws} CLI through the server into the real registry (token auth), with the
 * features S3 clients lean on: {@code aws s3 cp} of a 300 MiB file is a multipart upload with 10
 * parts of 8 MiB in flight at once (so parts arrive out of order and wait in the spool), read back
 * whole by a plain GET and by {@code aws s3 cp} the other way, which downloads with parallel ranged
 * GETs; {@code s3api put-object} of a small file with its {@code Content-MD5}, and one with a wrong
 * {@code Content-MD5}, refused as {@code BadDigest}.
 */
class AwsCliMultipartTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.TOKEN);

  private static final long SIZE = 300L << 20;

  @TempDir Path dir;
  @TempDir Path spool;

  @Test
  void a300MiBCopyGoesUpInParallelPartsAndComesBackIdentical() throws Exception {
    Registry r = registry.get();
    try (TestServer server = TestServer.start(b -> b.multipartSpoolDir(spool))) {
      String bucket = "b" + UUID.randomUUID().toString().substring(0, 8);
      String endpoint = "http://127.0.0.1:" + server.port() + "/" + r.proxyAddress() + "/s3cli";
      AwsCli aws =
          new AwsCli(
              dir,
              "multipart_threshold = 8MB",
              "multipart_chunksize = 8MB",
              "max_concurrent_requests = 10");
      Path file = dir.resolve("big.nar.zst");
      byte[] sha = AwsCli.randomFile(file, SIZE, 300);

      aws.ok(
          600,
          "s3",
          "cp",
          file.toString(),
          "s3://" + bucket + "/nar/big.nar.zst",
          "--endpoint-url",
          endpoint,
          "--content-type",
          "application/x-nix-nar",
          "--no-progress");
      Files.delete(file);

      // Out of order, so some parts waited in the spool; none is left there.
      assertTrue(server.server.multipart().spooledParts() > 0, "parts were spooled");
      assertEquals(
          38, server.server.multipart().spooledParts() + server.server.multipart().directParts());
      assertEquals(0, server.server.multipart().spoolBytes());
      assertEquals(0, server.server.multipart().uploads());
      // PATCHes of at most 4 MiB reached the registry.
      var patches = r.proxiedRequests("PATCH", ".*/s3cli/" + bucket + "/blobs/uploads/.*");
      assertEquals(75, patches.size(), "300 MiB in 4 MiB PATCHes");
      patches.forEach(p -> assertTrue(p.bodyBytes() <= 4 << 20, p.toString()));

      // A plain GET gives the bytes back, with the content type given at create.
      String path = "/" + r.proxyAddress() + "/s3cli/" + bucket + "/nar/big.nar.zst";
      HttpResponse<InputStream> get =
          server.http.send(
              HttpRequest.newBuilder(server.uri(path))
                  .timeout(Duration.ofMinutes(5))
                  .header("Authorization", TestServer.basic(Registry.USER, Registry.PASSWORD))
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, get.statusCode());
      assertEquals("application/x-nix-nar", get.headers().firstValue("Content-Type").orElse(null));
      try (InputStream in = get.body()) {
        assertEquals(AwsCli.hex(sha), AwsCli.hex(AwsCli.sha256(in)));
      }

      // aws s3 cp the other way: HeadObject, then 8 MiB ranged GETs in parallel.
      r.resetCounters();
      Path back = dir.resolve("back");
      aws.ok(
          600,
          "s3",
          "cp",
          "s3://" + bucket + "/nar/big.nar.zst",
          back.toString(),
          "--endpoint-url",
          endpoint,
          "--no-progress");
      try (InputStream in = Files.newInputStream(back)) {
        assertEquals(AwsCli.hex(sha), AwsCli.hex(AwsCli.sha256(in)));
      }
      assertTrue(
          server.server.metrics().requests("GET", 206) >= 38, "ranged GETs were answered 206");
      var blobGets = r.proxiedRequests("GET", ".*/s3cli/" + bucket + "/blobs/sha256:.*");
      assertTrue(
          blobGets.size() >= 38 && blobGets.stream().allMatch(p -> p.status() == 206),
          blobGets.toString());
      Files.delete(back);
    }
  }

  @Test
  void putObjectOfASmallFileWithItsMd5AndAWrongMd5IsBadDigest() throws Exception {
    Registry r = registry.get();
    try (TestServer server = TestServer.start(b -> b.multipartSpoolDir(spool))) {
      String bucket = "b" + UUID.randomUUID().toString().substring(0, 8);
      String endpoint = "http://127.0.0.1:" + server.port() + "/" + r.proxyAddress() + "/s3cli";
      AwsCli aws = new AwsCli(dir);
      byte[] small =
          "StorePath: /nix/store/abc-hello\nURL: nar/x.nar.zst\n".getBytes(StandardCharsets.UTF_8);
      Path file = dir.resolve("small");
      Files.write(file, small);
      String md5 =
          Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(small));

      String out =
          aws.ok(
              120,
              "s3api",
              "put-object",
              "--endpoint-url",
              endpoint,
              "--bucket",
              bucket,
              "--key",
              "abc.narinfo",
              "--body",
              file.toString(),
              "--content-type",
              "text/x-nix-narinfo",
              "--content-md5",
              md5);
      assertTrue(
          out.contains(AwsCli.hex(Base64.getDecoder().decode(md5))), "the ETag is the MD5: " + out);
      aws.ok(
          120,
          "s3api",
          "get-object",
          "--endpoint-url",
          endpoint,
          "--bucket",
          bucket,
          "--key",
          "abc.narinfo",
          dir.resolve("small.out").toString());
      assertArrayEquals(small, Files.readAllBytes(dir.resolve("small.out")));
      HttpResponse<byte[]> get =
          server.get(
              "/" + r.proxyAddress() + "/s3cli/" + bucket + "/abc.narinfo",
              TestServer.basic(Registry.USER, Registry.PASSWORD));
      assertArrayEquals(small, get.body());

      AwsCli.Result bad =
          aws.run(
              120,
              "s3api",
              "put-object",
              "--endpoint-url",
              endpoint,
              "--bucket",
              bucket,
              "--key",
              "bad.narinfo",
              "--body",
              file.toString(),
              "--content-md5",
              Base64.getEncoder().encodeToString(new byte[16]));
      assertTrue(bad.exit() != 0 && bad.err().contains("BadDigest"), bad.err());
      AwsCli.Result missing =
          aws.run(
              120,
              "s3api",
              "head-object",
              "--endpoint-url",
              endpoint,
              "--bucket",
              bucket,
              "--key",
              "bad.narinfo");
      assertTrue(missing.exit() != 0 && missing.err().contains("404"), missing.err());
    }
  }
}
