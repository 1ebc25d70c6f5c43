package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every key family Nix writes, with the bodies and headers Nix sends (issue 15, point 3), through
 * the server and the real registry: PUT answers 200, GET and HEAD give the bytes, {@code
 * Content-Type} and {@code Content-Encoding} back, whether the key is spelt raw (Nix before 2.32)
 * or percent-encoded (2.32 and later), over plain HTTP and over the S3 face (the {@code aws} CLI,
 * which percent-encodes keys itself, and raw S3-signed requests).
 *
 * <p>The bodies are recorded from Nix's source ({@code binary-cache-store.cc}, {@code
 * realisation.cc}): no newer Nix than 2.8 is installable here. Nix 2.8's realisation is byte for
 * byte what {@code nix realisation info --json} printed for a real content-addressed build (with
 * {@code signatures} where Nix's {@code toJSON} puts it); the build trace ({@code
 * build-trace-v2/<drv>/<output>.doi}, Nix 2.35) is its JSON value only.
 */
class KeyFamiliesTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.BASIC);

  private static final String HASH = "0vz5a6yr2xa6n3fk8v9mx2g3m1xwpvb5";
  private static final String DRV_HASH =
      "d212368a7f87004525c2d69a487448654c4fc383131ccac2c7a5e1b55a97c95b";
  private static final String BUILD_ID = "3f0c5a9e27d1b84f6a0c9e1d2b3a4f5e6d7c8b9a";
  private static final String SIG =
      "kf-test:9XFagG2fAzDXoTY7Jm1ZaOg0aDJ+yBpjFffeBd6A4vJzmUjt/OSrk8Ta24A75Ooe7IGPRVWyohaK2i5jLyEFDQ==";

  /** One file as Nix uploads it: key (raw), the spellings it arrives in, body and headers. */
  record Family(
      String name,
      String key,
      List<String> spellings,
      byte[] body,
      String contentType,
      String contentEncoding) {
    @Override
    public String toString() {
      return name;
    }
  }

  enum Kind {
    REALISATION,
    LONG_REALISATION,
    BUILD_TRACE,
    LONG_BUILD_TRACE,
    LOG,
    LISTING,
    DEBUGINFO;

    Family family() {
      return switch (this) {
        case REALISATION -> {
          String id = "sha256:" + DRV_HASH + "!out";
          yield new Family(
              "realisation",
              "realisations/" + id + ".doi",
              List.of(
                  "realisations/sha256:" + DRV_HASH + "!out.doi",
                  "realisations/sha256:" + DRV_HASH + "%21out.doi",
                  "realisations%2Fsha256%3A" + DRV_HASH + "%21out.doi"),
              utf8(
                  "{\"dependentRealisations\":{},\"id\":\""
                      + id
                      + "\",\"outPath\":\""
                      + HASH
                      + "-oranc-kf-ca\",\"signatures\":[\""
                      + SIG
                      + "\"]}"),
              "application/json",
              null);
        }
        case LONG_REALISATION -> {
          // A 40-character output name: the key's custom tag is over 128 characters.
          String out = "x".repeat(40);
          String id = "sha256:" + DRV_HASH + "!" + out;
          yield new Family(
              "realisation with a long output name",
              "realisations/" + id + ".doi",
              List.of(
                  "realisations/" + id + ".doi",
                  "realisations/sha256:" + DRV_HASH + "%21" + out + ".doi"),
              utf8(
                  "{\"dependentRealisations\":{\"sha256:"
                      + DRV_HASH
                      + "!out\":\""
                      + HASH
                      + "-oranc-kf-ca\"},\"id\":\""
                      + id
                      + "\",\"outPath\":\""
                      + HASH
                      + "-oranc-kf-ca-"
                      + out
                      + "\",\"signatures\":[]}"),
              "application/json",
              null);
        }
        case BUILD_TRACE -> {
          String drv = HASH + "-gtk+3-3.24.drv";
          yield new Family(
              "build trace",
              "build-trace-v2/" + drv + "/dev.doi",
              List.of(
                  "build-trace-v2/" + drv + "/dev.doi",
                  "build-trace-v2/" + HASH + "-gtk%2B3-3.24.drv/dev.doi",
                  "build-trace-v2%2F" + HASH + "-gtk%2B3-3.24.drv%2Fdev.doi"),
              utf8(
                  "{\"outPath\":\""
                      + HASH
                      + "-gtk+3-3.24-dev\",\"signatures\":[{\"keyName\":\"kf-test\",\"sig\":\""
                      + SIG.substring("kf-test:".length())
                      + "\"}]}"),
              "application/json",
              null);
        }
        case LONG_BUILD_TRACE -> {
          // A derivation name of 200 characters (211 is Nix's limit): 267 characters at most.
          String name = "python3.12-" + "p".repeat(187) + "+x";
          String drv = HASH + "-" + name + ".drv";
          yield new Family(
              "build trace of a long derivation name",
              "build-trace-v2/" + drv + "/out.doi",
              List.of(
                  "build-trace-v2/" + drv + "/out.doi",
                  "build-trace-v2%2F" + drv.replace("+", "%2B") + "%2Fout.doi"),
              utf8("{\"outPath\":\"" + HASH + "-" + name + "\",\"signatures\":[]}"),
              "application/json",
              null);
        }
        case LOG ->
            new Family(
                "log",
                "log/" + HASH + "-gtk+3-3.24.drv",
                List.of("log/" + HASH + "-gtk+3-3.24.drv", "log/" + HASH + "-gtk%2B3-3.24.drv"),
                gzip("building '/nix/store/" + HASH + "-gtk+3-3.24.drv'...\nunpacking sources\n"),
                "text/plain; charset=utf-8",
                "gzip");
        case LISTING ->
            new Family(
                "listing",
                HASH + ".ls",
                List.of(HASH + ".ls"),
                utf8(
                    "{\"version\":1,\"root\":{\"type\":\"directory\",\"entries\":{\"bin\":{\"type\":\"directory\","
                        + "\"entries\":{\"hello\":{\"type\":\"regular\",\"size\":29,\"executable\":true,\"narOffset\":400}}}}}}"),
                "application/json",
                null);
        case DEBUGINFO ->
            new Family(
                "debug info",
                "debuginfo/" + BUILD_ID + ".debug",
                List.of(
                    "debuginfo/" + BUILD_ID + ".debug",
                    "debuginfo/" + BUILD_ID,
                    "debuginfo%2F" + BUILD_ID + ".debug"),
                utf8(
                    "{\"archive\":\"../nar/1w1fff338fvdw53sqgamddn1b2xgds473pv6y13gizdbqjv4i5p3.nar.xz\",\"member\":"
                        + "\"lib/debug/.build-id/3f/0c5a9e27d1b84f6a0c9e1d2b3a4f5e6d7c8b9a.debug\"}"),
                "application/json",
                null);
      };
    }
  }

  private static TestServer server;
  private static TestServer base32Server;
  private static Registry registry;
  private static final String AUTH = TestServer.basic(Registry.USER, Registry.PASSWORD);

  @BeforeAll
  static void start() {
    server = TestServer.start();
    base32Server =
        TestServer.start(b -> b.codec(new TagCodec(TagEncoding.BASE32_DNSSEC, List.of())));
    registry = registries.get();
  }

  @AfterAll
  static void stop() {
    server.close();
    base32Server.close();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] gzip(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(utf8(s));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static String fresh() {
    return "kf" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * An S3 SigV4 header (oranc reads the access key id, base64(user:password); the registry checks).
   */
  private static String sigV4() {
    String id = Base64.getEncoder().encodeToString(utf8(Registry.USER + ":" + Registry.PASSWORD));
    return "AWS4-HMAC-SHA256 Credential="
        + id
        + "/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
  }

  private static void assertServed(Family f, HttpResponse<byte[]> get, String how) {
    assertEquals(200, get.statusCode(), how + ": " + TestServer.text(get));
    assertArrayEquals(f.body(), get.body(), how);
    assertEquals(f.contentType(), get.headers().firstValue("Content-Type").orElse(null), how);
    assertEquals(
        f.contentEncoding(), get.headers().firstValue("Content-Encoding").orElse(null), how);
  }

  private static void assertHead(Family f, HttpResponse<byte[]> head, String how) {
    assertEquals(200, head.statusCode(), how);
    assertEquals(
        String.valueOf(f.body().length),
        head.headers().firstValue("Content-Length").orElse(null),
        how);
    assertEquals(f.contentType(), head.headers().firstValue("Content-Type").orElse(null), how);
    assertEquals(
        f.contentEncoding(), head.headers().firstValue("Content-Encoding").orElse(null), how);
  }

  private static String[] headers(Family f, String... more) {
    List<String> h = new ArrayList<>(List.of("Content-Type", f.contentType()));
    if (f.contentEncoding() != null) {
      h.addAll(List.of("Content-Encoding", f.contentEncoding()));
    }
    h.addAll(List.of(more));
    return h.toArray(String[]::new);
  }

  /**
   * Plain HTTP: a PUT in each spelling answers 200, and every spelling reads back the last one's
   * bytes and headers; the image holds the raw key.
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void plainHttpInEverySpelling(Kind kind) throws Exception {
    Family f = kind.family();
    for (TestServer s : List.of(server, base32Server)) {
      String repo = "test/" + fresh();
      String base = "/" + registry.address() + "/" + repo + "/";
      for (String put : f.spellings()) {
        HttpResponse<byte[]> r = s.put(base + put, f.body(), AUTH, headers(f));
        assertEquals(200, r.statusCode(), "PUT " + put + ": " + TestServer.text(r));
        for (String read : f.spellings()) {
          assertServed(f, s.get(base + read, AUTH), "PUT " + put + ", GET " + read);
          assertHead(f, s.head(base + read, AUTH), "PUT " + put + ", HEAD " + read);
        }
      }
      // One image, under the key's tag (or hashed tag), naming the raw key.
      List<String> tags = registry.tags(repo);
      assertEquals(1, tags.size(), tags.toString());
      TagCodec codec =
          s == server ? TagCodec.DEFAULT : new TagCodec(TagEncoding.BASE32_DNSSEC, List.of());
      assertEquals(codec.writeTag(f.key()).value(), tags.get(0));
      Map<String, Object> manifest =
          JSON.std.mapFrom(registry.getManifest(repo, tags.get(0)).orElseThrow());
      assertEquals(
          f.key(), ((Map<?, ?>) manifest.get("annotations")).get("com.linyinfeng.oranc.key"));
    }
  }

  @Test
  void longRealisationsAndBuildTracesOverflowTheirTag() {
    assertTrue(TagCodec.isHashed(TagCodec.DEFAULT.writeTag(Kind.LONG_REALISATION.family().key())));
    assertEquals(
        200 + 4 + 33 + "build-trace-v2/".length() + "/out.doi".length(),
        Kind.LONG_BUILD_TRACE.family().key().length());
    assertTrue(TagCodec.isHashed(TagCodec.DEFAULT.writeTag(Kind.LONG_BUILD_TRACE.family().key())));
    assertTrue(!TagCodec.isHashed(TagCodec.DEFAULT.writeTag(Kind.BUILD_TRACE.family().key())));
    assertTrue(!TagCodec.isHashed(TagCodec.DEFAULT.writeTag(Kind.REALISATION.family().key())));
    // With base32-dnssec every realisation key (over 80 bytes) has a hashed tag.
    assertTrue(
        TagCodec.isHashed(
            new TagCodec(TagEncoding.BASE32_DNSSEC, List.of())
                .writeTag(Kind.REALISATION.family().key())));
  }

  /**
   * S3-signed requests with the key raw and percent-encoded, as an S3 client library may send it.
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void s3SignedRequestsInEverySpelling(Kind kind) throws Exception {
    Family f = kind.family();
    String base = "/" + registry.address() + "/s3/" + fresh() + "/";
    String[] s3 = {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"};
    for (String put : f.spellings()) {
      HttpResponse<byte[]> r = server.put(base + put, f.body(), sigV4(), headers(f, s3));
      assertEquals(200, r.statusCode(), "PUT " + put + ": " + TestServer.text(r));
      for (String read : f.spellings()) {
        assertServed(
            f,
            server.send("GET", base + read, null, sigV4(), s3),
            "S3 PUT " + put + ", GET " + read);
        assertHead(
            f,
            server.send("HEAD", base + read, null, sigV4(), s3),
            "S3 PUT " + put + ", HEAD " + read);
      }
    }
  }

  /**
   * The {@code aws} CLI (botocore percent-encodes {@code !}, {@code +} and {@code :} in keys):
   * put-object with the family's content type and encoding, then head-object and get-object, and
   * the plain face reads what S3 wrote, under the raw key.
   */
  @Test
  void theAwsCliWritesAndReadsEveryFamily(@TempDir Path dir) throws Exception {
    AwsCli aws = new AwsCli(dir);
    String bucket = fresh();
    String endpoint = "http://127.0.0.1:" + server.port() + "/" + registry.address() + "/s3cli";
    for (Kind kind : Kind.values()) {
      Family f = kind.family();
      Path body = Files.write(dir.resolve("body"), f.body());
      List<String> put =
          new ArrayList<>(
              List.of(
                  "s3api",
                  "put-object",
                  "--endpoint-url",
                  endpoint,
                  "--bucket",
                  bucket,
                  "--key",
                  f.key(),
                  "--body",
                  body.toString(),
                  "--content-type",
                  f.contentType()));
      if (f.contentEncoding() != null) {
        put.addAll(List.of("--content-encoding", f.contentEncoding()));
      }
      aws.ok(120, put.toArray(String[]::new));
      Map<String, Object> head =
          JSON.std.mapFrom(
              aws.ok(
                  120,
                  "s3api",
                  "head-object",
                  "--endpoint-url",
                  endpoint,
                  "--bucket",
                  bucket,
                  "--key",
                  f.key()));
      assertEquals(f.body().length, ((Number) head.get("ContentLength")).intValue(), f.name());
      assertEquals(f.contentType(), head.get("ContentType"), f.name());
      assertEquals(f.contentEncoding(), head.get("ContentEncoding"), f.name());
      Path out = dir.resolve("out");
      aws.ok(
          120,
          "s3api",
          "get-object",
          "--endpoint-url",
          endpoint,
          "--bucket",
          bucket,
          "--key",
          f.key(),
          out.toString());
      assertArrayEquals(f.body(), Files.readAllBytes(out), f.name());
      assertServed(
          f,
          server.get(
              "/" + registry.address() + "/s3cli/" + bucket + "/" + f.spellings().get(0), AUTH),
          "plain GET after aws put-object " + f.name());
    }
    // debug-info readers ask without the suffix
    Path out = dir.resolve("out2");
    aws.ok(
        120,
        "s3api",
        "get-object",
        "--endpoint-url",
        endpoint,
        "--bucket",
        bucket,
        "--key",
        "debuginfo/" + BUILD_ID,
        out.toString());
    assertArrayEquals(Kind.DEBUGINFO.family().body(), Files.readAllBytes(out));
  }
}
