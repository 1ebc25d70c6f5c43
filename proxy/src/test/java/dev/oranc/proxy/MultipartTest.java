package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * S3 multipart uploads through the server into the real registry, with requests shaped as S3
 * clients send them: parts out of order and at once (the early ones spooled, then fed in order),
 * the Complete list checked, abort and expiry leaving nothing behind, the spool's bound, the upload
 * id bound to its credentials, and parts sent twice. The registry's requests are counted through
 * the harness's proxy.
 */
class MultipartTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.BASIC);

  private static final String KEY_ID = keyId(Registry.USER, Registry.PASSWORD);
  private static final Pattern UPLOAD_ID = Pattern.compile("<UploadId>([^<]+)</UploadId>");

  @TempDir Path spoolRoot;
  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private TestServer server(Consumer<ServerConfig.Builder> tweak) {
    server =
        TestServer.start(
            b -> {
              b.multipartSpoolDir(spoolRoot);
              tweak.accept(b);
            });
    return server;
  }

  private static String keyId(String user, String password) {
    return Base64.getEncoder()
        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String sigv4(String keyId) {
    return "AWS4-HMAC-SHA256 Credential="
        + keyId
        + "/20240101/us-east-1/s3/aws4_request, "
        + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
        + "0".repeat(64);
  }

  private static String path(String key) {
    return "/"
        + registry.get().proxyAddress()
        + "/test/mp"
        + UUID.randomUUID().toString().substring(0, 8)
        + "/"
        + key;
  }

  private static String repository(String path) {
    String[] s = path.split("/");
    return s[2] + "/" + s[3];
  }

  private HttpResponse<byte[]> send(
      String method, String target, byte[] body, String keyId, String... headers) throws Exception {
    List<String> h =
        new ArrayList<>(
            List.of("x-amz-content-sha256", "UNSIGNED-PAYLOAD", "x-amz-date", "20240101T000000Z"));
    h.addAll(List.of(headers));
    return server.send(method, target, body, sigv4(keyId), h.toArray(String[]::new));
  }

  private String create(String path, String contentType) throws Exception {
    HttpResponse<byte[]> r =
        send("POST", path + "?uploads", null, KEY_ID, "Content-Type", contentType);
    assertEquals(200, r.statusCode(), TestServer.text(r));
    Matcher m = UPLOAD_ID.matcher(TestServer.text(r));
    assertTrue(m.find(), TestServer.text(r));
    assertTrue(TestServer.text(r).contains("<InitiateMultipartUploadResult"), TestServer.text(r));
    return m.group(1);
  }

  private HttpResponse<byte[]> part(String path, String id, int n, byte[] bytes, String... headers)
      throws Exception {
    return send("PUT", path + "?partNumber=" + n + "&uploadId=" + id, bytes, KEY_ID, headers);
  }

  private String etagOf(String path, String id, int n, byte[] bytes) throws Exception {
    HttpResponse<byte[]> r = part(path, id, n, bytes);
    assertEquals(200, r.statusCode(), TestServer.text(r));
    String etag = r.headers().firstValue("ETag").orElseThrow();
    assertEquals("\"" + md5Hex(bytes) + "\"", etag);
    return etag;
  }

  private static String completeXml(List<String> etags, int... numbers) {
    StringBuilder b =
        new StringBuilder(
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int n : numbers) {
      b.append("<Part><ETag>")
          .append(etags.get(n - 1).replace("\"", "&quot;"))
          .append("</ETag><PartNumber>")
          .append(n)
          .append("</PartNumber></Part>");
    }
    return b.append("</CompleteMultipartUpload>").toString();
  }

  private HttpResponse<byte[]> complete(String path, String id, String xml) throws Exception {
    return send("POST", path + "?uploadId=" + id, xml.getBytes(StandardCharsets.UTF_8), KEY_ID);
  }

  private static byte[] random(int n, int seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static String md5Hex(byte[]... parts) throws Exception {
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    for (byte[] p : parts) {
      md5.update(p);
    }
    return HexFormat.of().formatHex(md5.digest());
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      b.writeBytes(p);
    }
    return b.toByteArray();
  }

  private byte[] get(String path) throws Exception {
    HttpResponse<byte[]> r = server.get(path, TestServer.basic(Registry.USER, Registry.PASSWORD));
    assertEquals(200, r.statusCode(), TestServer.text(r));
    return r.body();
  }

  private void assertSpoolEmpty() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline
        && (server.server.multipart().spoolBytes() != 0 || spoolFiles() != 0)) {
      Thread.sleep(20);
    }
    assertEquals(0, server.server.multipart().spoolBytes(), "spool bytes reserved");
    assertEquals(0, spoolFiles(), "files in the spool");
  }

  private long spoolFiles() throws IOException {
    try (Stream<Path> s = Files.walk(spoolRoot)) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  private static void assertS3Error(HttpResponse<byte[]> r, int status, String code) {
    assertEquals(status, r.statusCode(), TestServer.text(r));
    assertTrue(TestServer.text(r).contains("<Code>" + code + "</Code>"), TestServer.text(r));
  }

  @Test
  void partsSentOutOfOrderAndAtOnceBecomeTheirConcatenationInOrder() throws Exception {
    server(b -> {});
    String path = path("nar/big.nar.zst");
    byte[][] parts = {
      random(1 << 20, 1), random((1 << 20) + 17, 2), random(300_000, 3), random(5, 4)
    };
    String id = create(path, "application/x-nix-nar");
    List<String> etags = new ArrayList<>(List.of("", "", "", ""));
    // 4 and 3 first: they must wait in the spool; then 1 and 2 at once.
    etags.set(3, etagOf(path, id, 4, parts[3]));
    etags.set(2, etagOf(path, id, 3, parts[2]));
    assertTrue(server.server.multipart().spoolBytes() > 0);
    CompletableFuture<String> one =
        CompletableFuture.supplyAsync(() -> call(() -> etagOf(path, id, 1, parts[0])));
    CompletableFuture<String> two =
        CompletableFuture.supplyAsync(() -> call(() -> etagOf(path, id, 2, parts[1])));
    etags.set(0, one.get());
    etags.set(1, two.get());

    HttpResponse<byte[]> done = complete(path, id, completeXml(etags, 1, 2, 3, 4));
    assertEquals(200, done.statusCode(), TestServer.text(done));
    String md5OfMd5s =
        md5Hex(
            concat(
                HexFormat.of().parseHex(md5Hex(parts[0])),
                HexFormat.of().parseHex(md5Hex(parts[1])),
                HexFormat.of().parseHex(md5Hex(parts[2])),
                HexFormat.of().parseHex(md5Hex(parts[3]))));
    assertTrue(
        TestServer.text(done).contains("<ETag>&quot;" + md5OfMd5s + "-4&quot;</ETag>"),
        TestServer.text(done));
    assertTrue(TestServer.text(done).contains("<Key>nar/big.nar.zst</Key>"), TestServer.text(done));

    assertArrayEquals(concat(parts), get(path));
    HttpResponse<byte[]> head =
        server.head(path, TestServer.basic(Registry.USER, Registry.PASSWORD));
    assertEquals("application/x-nix-nar", head.headers().firstValue("Content-Type").orElse(null));
    assertTrue(server.server.multipart().spooledParts() >= 2, "parts 3 and 4 were spooled");
    assertEquals(0, server.server.multipart().uploads());
    assertSpoolEmpty();
    // The registry got the bytes in PATCHes of at most 4 MiB (here: the gathered unknown-size
    // chunks).
    var patches =
        registry.get().proxiedRequests("PATCH", ".*/" + repository(path) + "/blobs/uploads/.*");
    assertFalse(patches.isEmpty());
    patches.forEach(p -> assertTrue(p.bodyBytes() <= 4 << 20, p.toString()));
    assertTrue(server.get("/-/metrics", null).body().length > 0);
    String metrics = TestServer.text(server.get("/-/metrics", null));
    assertTrue(
        metrics.contains("oranc_multipart_parts_total{path=\"spooled\"} 2")
            || metrics.contains("oranc_multipart_parts_total{path=\"spooled\"} 3"),
        metrics);
  }

  @Test
  void theCompleteListIsCheckedAndAFailedCheckLeavesTheUploadCompletable() throws Exception {
    server(b -> {});
    String path = path("x.narinfo");
    byte[][] parts = {random(100, 5), random(200, 6)};
    String id = create(path, "text/x-nix-narinfo");
    List<String> etags = List.of(etagOf(path, id, 1, parts[0]), etagOf(path, id, 2, parts[1]));

    assertS3Error(complete(path, id, completeXml(etags, 2, 1)), 400, "InvalidPartOrder");
    assertS3Error(
        complete(path, id, completeXml(List.of(etags.get(0), "\"" + "0".repeat(32) + "\""), 1, 2)),
        400,
        "InvalidPart");
    assertS3Error(complete(path, id, completeXml(etags, 1)), 400, "InvalidPart");
    assertS3Error(
        complete(path, id, completeXml(List.of(etags.get(0), etags.get(1), "\"x\""), 1, 2, 3)),
        400,
        "InvalidPart");
    assertS3Error(complete(path, id, "<CompleteMultipartUpload><Part>"), 400, "MalformedXML");
    assertS3Error(
        complete(
            path,
            id,
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><CompleteMultipartUpload/>"),
        400,
        "MalformedXML");

    HttpResponse<byte[]> done = complete(path, id, completeXml(etags, 1, 2));
    assertEquals(200, done.statusCode(), TestServer.text(done));
    assertArrayEquals(concat(parts), get(path));
    assertEquals(
        "text/x-nix-narinfo",
        server
            .head(path, TestServer.basic(Registry.USER, Registry.PASSWORD))
            .headers()
            .firstValue("Content-Type")
            .orElse(null));
    // Over: the id is gone.
    assertS3Error(complete(path, id, completeXml(etags, 1, 2)), 404, "NoSuchUpload");
  }

  /**
   * docs/SERVER.md: a Complete sent again while the first is still running gets the same answer. No
   * timing: the first Complete's manifest is held at the registry until the second Complete has
   * been taken by the server, then let go.
   */
  @Test
  void aCompleteSentAgainWhileTheFirstRunsGetsTheSameAnswerAndTheObjectIsStoredOnce()
      throws Exception {
    server(b -> {});
    try (FaultInjector front = new FaultInjector(registry.get().address(), null)) {
      String path =
          "/"
              + front.address()
              + "/test/mp"
              + UUID.randomUUID().toString().substring(0, 8)
              + "/nar/again.nar";
      byte[][] parts = {random(100_000, 25), random(50, 26)};
      String id = create(path, "application/x-nix-nar");
      String xml =
          completeXml(List.of(etagOf(path, id, 1, parts[0]), etagOf(path, id, 2, parts[1])), 1, 2);
      FaultInjector.Hold manifest = front.hold("PUT", "/manifests/");
      CompletableFuture<HttpResponse<byte[]>> first =
          CompletableFuture.supplyAsync(() -> call(() -> complete(path, id, xml)));
      assertTrue(
          manifest.awaitHeld(Duration.ofSeconds(30)),
          "the first Complete's manifest was never sent: " + front.requests());
      assertEquals(1, server.server.metrics().registryOperations("multipart_complete"));
      CompletableFuture<HttpResponse<byte[]>> second =
          CompletableFuture.supplyAsync(() -> call(() -> complete(path, id, xml)));
      // The second Complete has been given the first one's result (the blob finished) while the
      // first is still publishing.
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (server.server.metrics().registryOperations("multipart_complete") < 2
          && System.nanoTime() < deadline
          && !second.isDone()) {
        Thread.sleep(10);
      }
      assertFalse(second.isDone(), "answered before the first Complete published: " + second);
      assertEquals(2, server.server.metrics().registryOperations("multipart_complete"));
      assertFalse(first.isDone(), "the first Complete was answered before its manifest was up");
      manifest.release();

      HttpResponse<byte[]> a = first.get(60, TimeUnit.SECONDS);
      HttpResponse<byte[]> b = second.get(60, TimeUnit.SECONDS);
      assertEquals(200, a.statusCode(), TestServer.text(a));
      assertEquals(200, b.statusCode(), TestServer.text(b));
      String md5OfMd5s =
          md5Hex(
              concat(
                  HexFormat.of().parseHex(md5Hex(parts[0])),
                  HexFormat.of().parseHex(md5Hex(parts[1]))));
      assertTrue(
          TestServer.text(a).contains("<ETag>&quot;" + md5OfMd5s + "-2&quot;</ETag>"),
          TestServer.text(a));
      assertEquals(TestServer.text(a), TestServer.text(b), "the same answer to both");

      // Stored once: the object's blob was finished by one PUT, and its key is one tag.
      byte[] object = concat(parts);
      String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(object));
      List<String> finishes =
          front.requests().stream()
              .filter(r -> r.startsWith("PUT ") && r.contains("/blobs/uploads/") && r.contains(hex))
              .toList();
      assertEquals(1, finishes.size(), front.requests().toString());
      assertEquals(1, registry.get().tags(repository(path)).size());
      assertArrayEquals(object, get(path));
      assertEquals(0, server.server.multipart().uploads());
      assertSpoolEmpty();
      // Over: the id is gone.
      assertS3Error(complete(path, id, xml), 404, "NoSuchUpload");
    }
  }

  @Test
  void anAbortedUploadLeavesNothingVisibleAndFreesItsSpool() throws Exception {
    server(b -> {});
    String path = path("nar/aborted.nar");
    String id = create(path, "application/x-nix-nar");
    etagOf(path, id, 1, random(70_000, 7));
    etagOf(path, id, 3, random(500_000, 8));
    assertTrue(server.server.multipart().spoolBytes() > 0);

    HttpResponse<byte[]> abort = send("DELETE", path + "?uploadId=" + id, null, KEY_ID);
    assertEquals(204, abort.statusCode(), TestServer.text(abort));
    assertSpoolEmpty();
    assertEquals(0, server.server.multipart().uploads());
    assertS3Error(send("GET", path, null, KEY_ID), 404, "NoSuchKey");
    assertTrue(
        registry.get().tags(repository(path)).isEmpty(),
        registry.get().tags(repository(path)).toString());
    assertTrue(
        registry
            .get()
            .proxiedRequests("PUT", ".*/" + repository(path) + "/manifests/.*")
            .isEmpty());
    // The registry's session was cancelled.
    assertEquals(
        1,
        registry
            .get()
            .proxiedRequests("DELETE", ".*/" + repository(path) + "/blobs/uploads/.*")
            .size(),
        registry.get().proxiedRequests().toString());
    assertS3Error(part(path, id, 2, random(10, 9)), 404, "NoSuchUpload");
    assertS3Error(send("DELETE", path + "?uploadId=" + id, null, KEY_ID), 404, "NoSuchUpload");
  }

  @Test
  void anUploadNobodyTouchesExpiresAndFreesItsSpool() throws Exception {
    // The server's clock is the test's: the upload cannot expire before the spool is checked,
    // however slow the machine (the sweep itself runs every 100 ms, a quarter of the expiry).
    AtomicLong nanos = new AtomicLong();
    server(b -> b.multipartExpiry(Duration.ofMillis(400)).ticker(nanos::get));
    String path = path("nar/expired.nar");
    String id = create(path, "application/x-nix-nar");
    etagOf(path, id, 2, random(300_000, 10));
    assertTrue(server.server.multipart().spoolBytes() > 0);
    assertEquals(1, spoolFiles());
    assertEquals(1, server.server.multipart().uploads(), "expired before its time");
    nanos.addAndGet(Duration.ofMillis(401).toNanos());
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (server.server.multipart().uploads() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(0, server.server.multipart().uploads());
    assertSpoolEmpty();
    assertS3Error(part(path, id, 1, random(10, 11)), 404, "NoSuchUpload");
    assertTrue(registry.get().tags(repository(path)).isEmpty());
  }

  @Test
  void anEarlyPartOverTheSpoolsBoundIsSlowDownAndTheNextPartStillStreams() throws Exception {
    server(b -> b.multipartSpoolBytes(1 << 20));
    String path = path("nar/bounded.nar");
    String id = create(path, "application/x-nix-nar");
    HttpResponse<byte[]> refused = part(path, id, 2, random(2 << 20, 12));
    assertS3Error(refused, 503, "SlowDown");
    assertTrue(Long.parseLong(refused.headers().firstValue("Retry-After").orElse("0")) >= 1);
    assertEquals(0, server.server.multipart().spoolBytes());
    // With Expect: 100-continue (as S3 clients send large parts) it is refused before the body.
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              ("PUT "
                      + path
                      + "?partNumber=2&uploadId="
                      + id
                      + " HTTP/1.1\r\nHost: x\r\n"
                      + "Authorization: "
                      + sigv4(KEY_ID)
                      + "\r\nContent-Length: "
                      + (2 << 20)
                      + "\r\nExpect: 100-continue\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      RawExchange.Answer first = RawExchange.readFirst(s.getInputStream());
      assertEquals(503, first.status(), first.text());
      assertTrue(first.text().contains("<Code>SlowDown</Code>"), first.text());
    }
    // The part whose turn it is needs no spool; then part 2 may come.
    byte[] p1 = random(3 << 20, 13);
    byte[] p2 = random(2 << 20, 12);
    String e1 = etagOf(path, id, 1, p1);
    String e2 = etagOf(path, id, 2, p2);
    assertEquals(200, complete(path, id, completeXml(List.of(e1, e2), 1, 2)).statusCode());
    assertArrayEquals(concat(p1, p2), get(path));
  }

  @Test
  void anUploadIdIsOnlyValidWithItsCredentialsAndKey() throws Exception {
    server(b -> {});
    String path = path("nar/mine.nar");
    String id = create(path, "application/x-nix-nar");
    String other = keyId(Registry.READER, Registry.READER_PASSWORD);
    assertS3Error(
        send("PUT", path + "?partNumber=1&uploadId=" + id, random(10, 14), other),
        404,
        "NoSuchUpload");
    assertS3Error(send("DELETE", path + "?uploadId=" + id, null, other), 404, "NoSuchUpload");
    assertS3Error(part(path.replace("mine", "yours"), id, 1, random(10, 14)), 404, "NoSuchUpload");
    assertS3Error(part(path, "x" + id, 1, random(10, 14)), 404, "NoSuchUpload");
    assertS3Error(part(path, id, 0, random(10, 14)), 400, "InvalidArgument");
    assertS3Error(part(path, id, 10_001, random(10, 14)), 400, "InvalidArgument");
    assertEquals(1, server.server.multipart().uploads());
    assertEquals(204, send("DELETE", path + "?uploadId=" + id, null, KEY_ID).statusCode());
  }

  @Test
  void aPartSentAgainIsComparedWithWhatStreamedOn() throws Exception {
    server(b -> {});
    String path = path("nar/again.nar");
    String id = create(path, "application/x-nix-nar");
    byte[] p1 = random(100_000, 15);
    byte[] p2 = random(100_000, 16);
    String e1 = etagOf(path, id, 1, p1);
    assertEquals(e1, etagOf(path, id, 1, p1), "the same part again: the same ETag");
    assertS3Error(part(path, id, 1, random(100_000, 17)), 400, "InvalidPart");
    // A spooled part may be replaced before its turn.
    etagOf(path, id, 3, random(50, 18));
    byte[] p3 = random(60, 19);
    String e3 = etagOf(path, id, 3, p3);
    String e2 = etagOf(path, id, 2, p2);
    assertEquals(200, complete(path, id, completeXml(List.of(e1, e2, e3), 1, 2, 3)).statusCode());
    assertArrayEquals(concat(p1, p2, p3), get(path));
    assertSpoolEmpty();
  }

  @Test
  void aSpooledPartWithABadChecksumIsDroppedAndMaySimplyBeSentAgain() throws Exception {
    server(b -> {});
    String path = path("nar/checked.nar");
    String id = create(path, "application/x-nix-nar");
    byte[] p1 = random(70_000, 20);
    byte[] p2 = random(70_000, 21);
    assertS3Error(
        part(path, id, 2, p2, "Content-MD5", Base64.getEncoder().encodeToString(new byte[16])),
        400,
        "BadDigest");
    assertSpoolEmpty();
    String e2 = etagOf(path, id, 2, p2);
    String e1 = etagOf(path, id, 1, p1);
    assertEquals(200, complete(path, id, completeXml(List.of(e1, e2), 1, 2)).statusCode());
    assertArrayEquals(concat(p1, p2), get(path));
  }

  @Test
  void aStreamingPartThatBreaksOffFailsTheUploadWhichCanOnlyBeAborted() throws Exception {
    server(b -> {});
    String path = path("nar/broken.nar");
    String id = create(path, "application/x-nix-nar");
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      OutputStream out = s.getOutputStream();
      out.write(
          ("PUT "
                  + path
                  + "?partNumber=1&uploadId="
                  + id
                  + " HTTP/1.1\r\nHost: x\r\nAuthorization: "
                  + sigv4(KEY_ID)
                  + "\r\nContent-Length: 1000000\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(random(300_000, 22));
      out.flush();
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    HttpResponse<byte[]> r;
    do {
      Thread.sleep(50);
      r = part(path, id, 2, random(10, 23));
    } while (r.statusCode() == 200 && System.nanoTime() < deadline);
    assertS3Error(r, 400, "InvalidPart");
    assertTrue(TestServer.text(r).contains("broke off"), TestServer.text(r));
    assertEquals(204, send("DELETE", path + "?uploadId=" + id, null, KEY_ID).statusCode());
    assertSpoolEmpty();
    assertTrue(registry.get().tags(repository(path)).isEmpty());
  }

  @Test
  void aSpoolDirectoryThatCannotBeMadeStopsTheStartWithOneLine() throws Exception {
    Path file = Files.writeString(spoolRoot.resolve("a-file"), "x");
    ServerStartException e =
        Assertions.assertThrows(
            ServerStartException.class,
            () -> server(b -> b.multipartSpoolDir(file.resolve("spool"))));
    assertTrue(e.getMessage().contains("--multipart-spool-dir"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    server = null;
  }

  private static <T> T call(Callable<T> c) {
    try {
      return c.call();
    } catch (Exception e) {
      throw new CompletionException(e);
    }
  }

  @Test
  void aPlainPutOfTheSameKeyIsUntouchedByMultipartRouting() throws Exception {
    server(b -> {});
    String path = path("plain.narinfo");
    HttpResponse<byte[]> put =
        server.put(path, random(10, 24), TestServer.basic(Registry.USER, Registry.PASSWORD));
    assertEquals(200, put.statusCode());
    assertNotEquals(
        405,
        server
            .send(
                "POST", path + "?uploads", null, TestServer.basic(Registry.USER, Registry.PASSWORD))
            .statusCode());
    assertEquals(
        405,
        server
            .send("POST", path, null, TestServer.basic(Registry.USER, Registry.PASSWORD))
            .statusCode());
  }
}
