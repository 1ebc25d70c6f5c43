package dev.oranc.proxy.s3;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link StoredParts} on its own: a Complete's list is accepted only for the stored parts 1..N with
 * their ETags (quoted or not, any case), and the object's ETag is S3's MD5 of the parts' MD5s with
 * "-N". {@code proxy.MultipartTest} drives the same through the real S3 path.
 */
class StoredPartsTest {

  private static byte[] md5(String s) throws Exception {
    return MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.US_ASCII));
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static S3Xml.CompletedPart part(int n, byte[] md5) {
    return new S3Xml.CompletedPart(n, "\"" + hex(md5) + "\"");
  }

  @Test
  void theStoredPartsInOrderWithTheirETagsAreAccepted() throws Exception {
    StoredParts stored = new StoredParts();
    byte[] a = md5("a");
    byte[] b = md5("b");
    stored.put(2, 1, b);
    stored.put(1, 1, a);
    assertDoesNotThrow(() -> stored.check(List.of(part(1, a), part(2, b))));
    assertDoesNotThrow(
        () -> stored.check(List.of(new S3Xml.CompletedPart(1, hex(a).toUpperCase()), part(2, b))));
    assertEquals(1, stored.get(1).size());
    assertNull(stored.get(3));
  }

  @Test
  void aListThatDoesNotMatchWhatWasStoredIsRefusedNamingThePart() throws Exception {
    StoredParts stored = new StoredParts();
    byte[] a = md5("a");
    byte[] b = md5("b");
    byte[] c = md5("c");
    stored.put(1, 1, a);
    stored.put(2, 1, b);

    S3Rejected order =
        assertThrows(
            S3Rejected.InvalidPartOrder.class, () -> stored.check(List.of(part(2, b), part(1, a))));
    assertEquals(
        "the parts must be listed in ascending order; part 1 follows part 2", order.getMessage());

    S3Rejected missing =
        assertThrows(
            S3Rejected.InvalidPart.class,
            () -> stored.check(List.of(part(1, a), part(2, b), part(3, c))));
    assertEquals("part 3 was not uploaded, or has not finished", missing.getMessage());

    S3Rejected etag =
        assertThrows(
            S3Rejected.InvalidPart.class, () -> stored.check(List.of(part(1, a), part(2, c))));
    assertEquals("part 2 has ETag \"" + hex(b) + "\", not \"" + hex(c) + "\"", etag.getMessage());

    S3Rejected gap =
        assertThrows(S3Rejected.InvalidPart.class, () -> stored.check(List.of(part(2, b))));
    assertEquals(
        "part 1 is not listed: this server streams the parts into one registry blob in"
            + " order, so they must be numbered 1, 2, 3… without gaps",
        gap.getMessage());

    S3Rejected extra =
        assertThrows(S3Rejected.InvalidPart.class, () -> stored.check(List.of(part(1, a))));
    assertEquals(
        "part 2 was uploaded but is not listed: its bytes are in the registry's upload"
            + " already",
        extra.getMessage());
  }

  @Test
  void theObjectETagIsTheMd5OfThePartsMd5sWithTheirCount() throws Exception {
    StoredParts stored = new StoredParts();
    byte[] a = md5("a");
    byte[] b = md5("b");
    stored.put(1, 1, a);
    stored.put(2, 1, b);
    MessageDigest whole = MessageDigest.getInstance("MD5");
    whole.update(a);
    whole.update(b);
    assertEquals("\"" + hex(whole.digest()) + "-2\"", stored.objectETag(2));
    assertEquals("\"0cc175b9c0f1b6a831c399e269772661\"", StoredParts.quoted(a));
  }
}
