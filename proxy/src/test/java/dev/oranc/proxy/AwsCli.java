package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oranc.testkit.Registry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code aws} CLI pointed at a server: {@code --endpoint-url
 * http://127.0.0.1:P/REGISTRY/PART1}, bucket {@code PART2}, access key id base64(user:password),
 * path-style addressing, and the multipart settings of the test.
 */
final class AwsCli {

  static final String AWS = "/usr/bin/aws";

  record Result(int exit, String out, String err) {}

  private final Path dir;
  private final Map<String, String> env;

  /**
   * @param s3Settings lines of the config's {@code s3 =} section, e.g. {@code multipart_chunksize =
   *     8MB}
   */
  AwsCli(Path dir, String... s3Settings) throws IOException {
    this.dir = dir;
    StringBuilder config =
        new StringBuilder("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n");
    for (String s : s3Settings) {
      config.append("  ").append(s).append('\n');
    }
    Path file = dir.resolve("aws-config");
    Files.writeString(file, config.toString());
    this.env =
        Map.of(
            "AWS_ACCESS_KEY_ID",
                Base64.getEncoder()
                    .encodeToString(
                        (Registry.USER + ":" + Registry.PASSWORD).getBytes(StandardCharsets.UTF_8)),
            "AWS_SECRET_ACCESS_KEY", "ignored-by-oranc",
            "AWS_CONFIG_FILE", file.toString(),
            "AWS_SHARED_CREDENTIALS_FILE", dir.resolve("none").toString(),
            "AWS_EC2_METADATA_DISABLED", "true",
            "AWS_PAGER", "",
            "HOME", dir.toString());
  }

  /** Runs {@code aws ARGS}; fails the test unless it exits 0. */
  String ok(long timeoutSeconds, String... args) throws IOException, InterruptedException {
    Result r = run(timeoutSeconds, args);
    assertEquals(0, r.exit, String.join(" ", args) + ":\n" + r.err + r.out);
    return r.out;
  }

  Result run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>();
    argv.add(AWS);
    argv.addAll(List.of(args));
    Path out = dir.resolve("aws-out.txt");
    Path err = dir.resolve("aws-err.txt");
    ProcessBuilder pb =
        new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(
          String.join(" ", argv) + " did not finish in " + timeoutSeconds + " s");
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  /** Writes {@code size} pseudo-random bytes to {@code file}; their SHA-256. */
  static byte[] randomFile(Path file, long size, long seed) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    Random random = new Random(seed);
    byte[] block = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(file)) {
      for (long done = 0; done < size; done += block.length) {
        random.nextBytes(block);
        int n = (int) Math.min(block.length, size - done);
        out.write(block, 0, n);
        sha.update(block, 0, n);
      }
    }
    return sha.digest();
  }

  static byte[] sha256(InputStream in) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[1 << 16];
    int n;
    while ((n = in.read(buf)) > 0) {
      sha.update(buf, 0, n);
    }
    return sha.digest();
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
