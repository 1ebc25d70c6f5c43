package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/SERVER.md on {@code --multipart-spool-dir}: the server makes a directory of its own inside
 * (0700) and removes it at exit. Checked on a real server: nothing before a part is spooled, one
 * {@code rwx------} directory while one is, nothing once the server has stopped.
 */
class SpoolDirectoryTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.BASIC);

  private static final Pattern UPLOAD_ID = Pattern.compile("<UploadId>([^<]+)</UploadId>");

  @TempDir Path spoolRoot;

  @Test
  void theSpoolIsADirectoryOfTheServersOwnMode0700RemovedAtExit() throws Exception {
    String keyId =
        Base64.getEncoder()
            .encodeToString(
                (Registry.USER + ":" + Registry.PASSWORD).getBytes(StandardCharsets.UTF_8));
    String authorization =
        "AWS4-HMAC-SHA256 Credential="
            + keyId
            + "/20240101/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
            + "0".repeat(64);
    String[] headers = {
      "x-amz-content-sha256", "UNSIGNED-PAYLOAD", "x-amz-date", "20240101T000000Z"
    };
    String path =
        "/"
            + registry.get().address()
            + "/test/spool"
            + UUID.randomUUID().toString().substring(0, 8)
            + "/nar/spooled.nar";
    try (TestServer server = TestServer.start(b -> b.multipartSpoolDir(spoolRoot))) {
      assertEquals(List.of(), list(spoolRoot), "made on first use");
      HttpResponse<byte[]> created =
          server.send(
              "POST",
              path + "?uploads",
              null,
              authorization,
              "Content-Type",
              "application/x-nix-nar",
              headers[0],
              headers[1],
              headers[2],
              headers[3]);
      assertEquals(200, created.statusCode(), TestServer.text(created));
      Matcher m = UPLOAD_ID.matcher(TestServer.text(created));
      assertTrue(m.find(), TestServer.text(created));
      String id = m.group(1);
      // Part 2 before part 1: it waits in the spool.
      byte[] part = new byte[300_000];
      new Random(2).nextBytes(part);
      HttpResponse<byte[]> put =
          server.send("PUT", path + "?partNumber=2&uploadId=" + id, part, authorization, headers);
      assertEquals(200, put.statusCode(), TestServer.text(put));
      assertTrue(server.server.multipart().spoolBytes() > 0, "part 2 was not spooled");

      List<Path> own = list(spoolRoot);
      assertEquals(1, own.size(), own.toString());
      assertTrue(Files.isDirectory(own.get(0)), own.toString());
      assertEquals(
          "rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(own.get(0))));
      assertEquals(1, list(own.get(0)).size(), "the spooled part");
    }
    assertEquals(List.of(), list(spoolRoot), "the server's spool directory outlived it");
    assertTrue(
        Files.isDirectory(spoolRoot), "the configured directory is not the server's to remove");
  }

  private static List<Path> list(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    }
  }
}
