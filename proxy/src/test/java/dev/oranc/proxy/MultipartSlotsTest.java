package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fair multipart slots, through the real S3 path into the real registry: open uploads are capped
 * per client credentials and per client address (127.0.0.x are distinct clients to the server). One
 * more is 503 SlowDown with Retry-After, refused before any registry request; other clients still
 * create uploads; a completed, aborted, expired or never-opened upload gives its slot back; and the
 * per-client counts empty once nothing is open.
 */
class MultipartSlotsTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.BASIC);

  private static final Pattern UPLOAD_ID = Pattern.compile("<UploadId>([^<]+)</UploadId>");

  /** Two users: htpasswd mode lets both push. */
  private static final String ALICE = keyId(Registry.USER, Registry.PASSWORD);

  private static final String BOB = keyId(Registry.READER, Registry.READER_PASSWORD);

  @TempDir Path spoolRoot;
  private TestServer server;
  private final String repo = "test/slots" + UUID.randomUUID().toString().substring(0, 8);

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private void start(int perClient, Consumer<ServerConfig.Builder> tweak) {
    server =
        TestServer.start(
            b -> {
              b.multipartSpoolDir(spoolRoot).maxMultipartUploadsPerClient(perClient);
              tweak.accept(b);
            });
  }

  private static String keyId(String user, String password) {
    return Base64.getEncoder()
        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static InetAddress from(int last) throws Exception {
    return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
  }

  private String path(String key) {
    return "/" + registry.get().proxyAddress() + "/" + repo + "/" + key;
  }

  /** One S3-signed request from {@code client}, on a connection of its own. */
  private RawHttp.Response s3(
      InetAddress client, String method, String target, String keyId, byte[] body)
      throws Exception {
    byte[] payload = body == null ? new byte[0] : body;
    String head =
        method
            + " "
            + target
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: AWS4-HMAC-SHA256 Credential="
            + keyId
            + "/20240101/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
            + "0".repeat(64)
            + "\r\n"
            + "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nx-amz-date: 20240101T000000Z\r\n"
            + "Content-Length: "
            + payload.length
            + "\r\nConnection: close\r\n\r\n";
    try (RawHttp c = RawHttp.from(client, server.port(), 20_000)) {
      c.write(head);
      c.write(payload);
      RawHttp.Response r = c.read(false);
      assertTrue(r != null, method + " " + target + ": no answer");
      return r;
    }
  }

  private String create(InetAddress client, String keyId, String key) throws Exception {
    RawHttp.Response r = s3(client, "POST", path(key) + "?uploads", keyId, null);
    assertEquals(200, r.status(), r.toString());
    Matcher m = UPLOAD_ID.matcher(r.text());
    assertTrue(m.find(), r.text());
    return m.group(1);
  }

  private void assertSlowDown(RawHttp.Response r) {
    assertEquals(503, r.status(), r.toString());
    assertTrue(r.text().contains("<Code>SlowDown</Code>"), r.text());
    assertTrue(Long.parseLong(r.header("Retry-After")) >= 1, r.toString());
  }

  private int registrySessionsOpened() {
    return registry.get().proxiedRequests("POST", "/v2/" + repo + "/blobs/uploads/").size();
  }

  private void abort(InetAddress client, String keyId, String key, String id) throws Exception {
    RawHttp.Response r = s3(client, "DELETE", path(key) + "?uploadId=" + id, keyId, null);
    assertEquals(204, r.status(), r.toString());
  }

  private void assertNothingOpen() throws Exception {
    // An upload ends (and gives its slot back) before its answer is sent; expiry runs on a timer.
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline
        && (server.server.multipart().uploads() != 0
            || server.server.multipart().clientEntries() != 0)) {
      Thread.sleep(20);
    }
    assertEquals(0, server.server.multipart().uploads(), "uploads in progress");
    assertEquals(0, server.server.multipart().clientEntries(), "per-client entries");
  }

  @Test
  void oneCredentialFromManyAddressesIsCappedAndOthersStillCreate() throws Exception {
    start(3, b -> {});
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(create(from(10 + i), ALICE, "nar/a" + i + ".nar"));
    }
    registry.get().resetCounters();
    // The same key from a fourth address: over the cap, and the registry is not asked.
    assertSlowDown(s3(from(13), "POST", path("nar/a3.nar") + "?uploads", ALICE, null));
    assertEquals(0, registrySessionsOpened(), registry.get().proxiedRequests().toString());
    // Another client (other credentials, another address) is served.
    String bobs = create(from(20), BOB, "nar/b0.nar");
    assertEquals(1, registrySessionsOpened());
    assertEquals(4, server.server.multipart().uploads());

    // Aborting one of Alice's frees a slot for her.
    abort(from(10), ALICE, "nar/a0.nar", ids.get(0));
    ids.set(0, create(from(13), ALICE, "nar/a3.nar"));
    assertSlowDown(s3(from(14), "POST", path("nar/a4.nar") + "?uploads", ALICE, null));

    // Completing one frees a slot too.
    byte[] part = "a small NAR".getBytes(StandardCharsets.UTF_8);
    String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(part));
    RawHttp.Response put =
        s3(
            from(11),
            "PUT",
            path("nar/a1.nar") + "?partNumber=1&uploadId=" + ids.get(1),
            ALICE,
            part);
    assertEquals(200, put.status(), put.toString());
    String xml =
        "<CompleteMultipartUpload><Part><ETag>\""
            + md5
            + "\"</ETag><PartNumber>1</PartNumber></Part>"
            + "</CompleteMultipartUpload>";
    RawHttp.Response done =
        s3(
            from(11),
            "POST",
            path("nar/a1.nar") + "?uploadId=" + ids.get(1),
            ALICE,
            xml.getBytes(StandardCharsets.UTF_8));
    assertEquals(200, done.status(), done.toString());
    ids.set(1, create(from(14), ALICE, "nar/a4.nar"));

    abort(from(13), ALICE, "nar/a3.nar", ids.get(0));
    abort(from(14), ALICE, "nar/a4.nar", ids.get(1));
    abort(from(12), ALICE, "nar/a2.nar", ids.get(2));
    abort(from(20), BOB, "nar/b0.nar", bobs);
    assertNothingOpen();
  }

  @Test
  void oneAddressWithManyCredentialsIsCappedAndOtherAddressesStillCreate() throws Exception {
    start(2, b -> {});
    InetAddress shared = from(30);
    String a = create(shared, ALICE, "nar/x.nar");
    String b = create(shared, BOB, "nar/y.nar");
    registry.get().resetCounters();
    // A third key from the same address is refused before its credentials reach the registry.
    assertSlowDown(
        s3(shared, "POST", path("nar/z.nar") + "?uploads", keyId("someone", "else"), null));
    assertSlowDown(s3(shared, "POST", path("nar/z.nar") + "?uploads", ALICE, null));
    assertEquals(0, registrySessionsOpened(), registry.get().proxiedRequests().toString());
    // Alice from another address still has a slot (she holds one of her two).
    String elsewhere = create(from(31), ALICE, "nar/w.nar");
    // ... but not a third anywhere.
    assertSlowDown(s3(from(32), "POST", path("nar/v.nar") + "?uploads", ALICE, null));

    abort(shared, ALICE, "nar/x.nar", a);
    abort(shared, BOB, "nar/y.nar", b);
    abort(from(31), ALICE, "nar/w.nar", elsewhere);
    assertNothingOpen();
  }

  @Test
  void anUploadTheRegistryRefusesOrThatExpiresGivesItsSlotBack() throws Exception {
    start(1, b -> b.multipartExpiry(Duration.ofMillis(300)));
    // The registry refuses these credentials: no upload, and the slot is free again at once.
    RawHttp.Response refused =
        s3(
            from(40),
            "POST",
            path("nar/r.nar") + "?uploads",
            keyId(Registry.USER, "not-the-password"),
            null);
    assertNotEquals(200, refused.status(), refused.toString());
    assertNothingOpen();
    create(from(40), ALICE, "nar/r.nar");
    assertSlowDown(s3(from(40), "POST", path("nar/s.nar") + "?uploads", ALICE, null));
    // Nobody touches it: it expires, and the slot with it.
    assertNothingOpen();
    create(from(40), ALICE, "nar/s.nar");
  }
}
