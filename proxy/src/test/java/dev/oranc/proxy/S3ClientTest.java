package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real S3 client (Debian's {@code aws}) through the server: {@code put-object}, {@code
 * head-object} and {@code get-object} with {@code --endpoint-url http://HOST/REGISTRY/PART1} and
 * bucket {@code PART2}, the access key id being base64(user:password), as SPEC §3 describes.
 */
class S3ClientTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.TOKEN);

  private static final String AWS = "/usr/bin/aws";
  private static TestServer server;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void putHeadAndGetObjectsIncludingOneOver8MiB() throws Exception {
    Registry r = registry.get();
    String bucket = "b" + UUID.randomUUID().toString().substring(0, 8);
    String endpoint = "http://127.0.0.1:" + server.port() + "/" + r.address() + "/s3test";
    Path config = dir.resolve("aws-config");
    Files.writeString(config, "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n");
    Map<String, String> env =
        Map.of(
            "AWS_ACCESS_KEY_ID",
                Base64.getEncoder()
                    .encodeToString(
                        (Registry.USER + ":" + Registry.PASSWORD).getBytes(StandardCharsets.UTF_8)),
            "AWS_SECRET_ACCESS_KEY", "ignored-by-oranc",
            "AWS_CONFIG_FILE", config.toString(),
            "AWS_SHARED_CREDENTIALS_FILE", dir.resolve("none").toString(),
            "AWS_EC2_METADATA_DISABLED", "true",
            "HOME", dir.toString());

    byte[] small = "StoreDir: /nix/store\n".getBytes(StandardCharsets.UTF_8);
    byte[] large = new byte[(8 << 20) + 12345];
    new Random(7).nextBytes(large);
    Files.write(dir.resolve("small"), small);
    Files.write(dir.resolve("large"), large);

    aws(
        env,
        "s3api",
        "put-object",
        "--endpoint-url",
        endpoint,
        "--bucket",
        bucket,
        "--key",
        "nix-cache-info",
        "--body",
        dir.resolve("small").toString(),
        "--content-type",
        "text/x-nix-cache-info");
    aws(
        env,
        "s3api",
        "put-object",
        "--endpoint-url",
        endpoint,
        "--bucket",
        bucket,
        "--key",
        "nar/large.nar.zst",
        "--body",
        dir.resolve("large").toString(),
        "--content-type",
        "application/x-nix-nar");

    String head =
        aws(
            env,
            "s3api",
            "head-object",
            "--endpoint-url",
            endpoint,
            "--bucket",
            bucket,
            "--key",
            "nar/large.nar.zst");
    assertTrue(head.contains("\"ContentLength\": " + large.length), head);
    assertTrue(head.contains("application/x-nix-nar"), head);

    aws(
        env,
        "s3api",
        "get-object",
        "--endpoint-url",
        endpoint,
        "--bucket",
        bucket,
        "--key",
        "nar/large.nar.zst",
        dir.resolve("large.out").toString());
    assertArrayEquals(large, Files.readAllBytes(dir.resolve("large.out")));
    aws(
        env,
        "s3api",
        "get-object",
        "--endpoint-url",
        endpoint,
        "--bucket",
        bucket,
        "--key",
        "nix-cache-info",
        dir.resolve("small.out").toString());
    assertArrayEquals(small, Files.readAllBytes(dir.resolve("small.out")));

    // The file is where SPEC §3 says: repository s3test/<bucket> in the registry.
    assertEquals(
        200,
        server
            .get(
                "/" + r.address() + "/s3test/" + bucket + "/nix-cache-info",
                TestServer.basic(Registry.USER, Registry.PASSWORD))
            .statusCode());

    // A missing key is NoSuchKey to the S3 client.
    Result missing =
        run(
            env,
            AWS,
            "s3api",
            "head-object",
            "--endpoint-url",
            endpoint,
            "--bucket",
            bucket,
            "--key",
            "nope.narinfo");
    assertTrue(missing.exit != 0 && missing.err.contains("404"), missing.err);
  }

  private record Result(int exit, String out, String err) {}

  private String aws(Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>();
    argv.add(AWS);
    argv.addAll(List.of(args));
    Result r = run(env, argv.toArray(String[]::new));
    assertEquals(0, r.exit, String.join(" ", args) + ":\n" + r.err + r.out);
    return r.out;
  }

  private Result run(Map<String, String> env, String... argv)
      throws IOException, InterruptedException {
    ProcessBuilder pb =
        new ProcessBuilder(argv)
            .redirectOutput(dir.resolve("out.txt").toFile())
            .redirectError(dir.resolve("err.txt").toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", argv) + " did not finish in 120 s");
    }
    return new Result(
        p.exitValue(),
        Files.readString(dir.resolve("out.txt")),
        Files.readString(dir.resolve("err.txt")));
  }
}
