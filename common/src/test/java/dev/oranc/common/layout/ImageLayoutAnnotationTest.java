package dev.oranc.common.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.tag.Tag;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The two layer annotations the server sends back as headers are refused when read if they could
 * not be a header value (a Protocol error naming the annotation, never quoting the value).
 */
class ImageLayoutAnnotationTest {

  private static final RepositoryRef REPO = RepositoryRef.of("127.0.0.1:5000", "o/c");
  private static final Digest DIGEST = Digest.sha256(new byte[] {1});
  private static final String MARKER = "X-Injected-MARKER";

  static Stream<Arguments> hostileValues() {
    List<String> values =
        List.of(
            "text/html\r\n" + MARKER + ": 1",
            "text/html\n" + MARKER,
            "text/html\r" + MARKER,
            "a\u0000" + MARKER,
            "\u001b[31m" + MARKER,
            "x\u007f" + MARKER,
            "t\u00e9xt/" + MARKER,
            "a\t" + MARKER,
            MARKER + "x".repeat(ImageLayout.MAX_HEADER_VALUE));
    return Stream.of(ImageLayout.CONTENT_TYPE_ANNOTATION, ImageLayout.CONTENT_ENCODING_ANNOTATION)
        .flatMap(a -> values.stream().map(v -> Arguments.of(a, v)));
  }

  private static Manifest manifestWith(String annotation, String value) {
    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put(ImageLayout.CONTENT_TYPE_ANNOTATION, "text/x-nix-narinfo");
    annotations.put(annotation, value);
    Descriptor layer = new Descriptor(ImageLayout.LAYER_MEDIA_TYPE, DIGEST, 1, annotations);
    Descriptor config = new Descriptor(ImageLayout.CONFIG_MEDIA_TYPE, DIGEST, 1, Map.of());
    return ImageLayout.manifest("k.narinfo", layer, config);
  }

  @ParameterizedTest
  @MethodSource("hostileValues")
  void aValueThatCannotBeAHeaderIsAProtocolErrorNamingTheAnnotationNotTheValue(
      String annotation, String value) {
    // Through JSON and back, as a registry would serve it.
    Manifest m = Manifest.parse(manifestWith(annotation, value).toJson(), "manifest", null);
    RegistryException.Protocol e =
        assertThrows(
            RegistryException.Protocol.class, () -> ImageLayout.read(REPO, Tag.of("k.narinfo"), m));
    assertTrue(e.publicMessage().contains(annotation), e.publicMessage());
    assertTrue(e.publicMessage().contains("cannot be an HTTP header value"), e.publicMessage());
    assertFalse(e.getMessage().contains(MARKER), e.getMessage());
    assertTrue(e.getMessage().chars().noneMatch(Character::isISOControl), e.getMessage());
    assertTrue(e.getMessage().length() < 300, e.getMessage());
  }

  @Test
  void ordinaryValuesAreRead() {
    StoredFile f =
        ImageLayout.read(
            REPO,
            Tag.of("k.narinfo"),
            manifestWith(ImageLayout.CONTENT_ENCODING_ANNOTATION, "zstd"));
    assertEquals("text/x-nix-narinfo", f.contentType());
    assertEquals("zstd", f.contentEncoding());
    assertNull(ImageLayout.headerValueProblem("application/x-nix-narinfo; charset=utf-8"));
    assertNull(ImageLayout.headerValueProblem(""));
    assertNull(ImageLayout.headerValueProblem(null));
    assertNull(ImageLayout.headerValueProblem("x".repeat(ImageLayout.MAX_HEADER_VALUE)));
  }

  @Test
  void aStoredFileCannotHoldSuchAValueEither() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new StoredFile(REPO, Tag.of("k.narinfo"), DIGEST, 1, "a\r\nb", null));
    assertThrows(
        IllegalArgumentException.class,
        () -> new StoredFile(REPO, Tag.of("k.narinfo"), DIGEST, 1, "text/plain", "gzip\n"));
  }

  @Test
  void anotherLayerMediaTypeIsNamedInTheLogOnly() {
    Descriptor layer =
        new Descriptor(MARKER, DIGEST, 1, Map.of(ImageLayout.CONTENT_TYPE_ANNOTATION, "a/b"));
    Manifest m =
        ImageLayout.manifest(
            "k", layer, new Descriptor(ImageLayout.CONFIG_MEDIA_TYPE, DIGEST, 1, Map.of()));
    RegistryException e =
        assertThrows(
            RegistryException.Protocol.class, () -> ImageLayout.read(REPO, Tag.of("k"), m));
    assertFalse(e.publicMessage().contains(MARKER), e.publicMessage());
    assertTrue(e.getMessage().contains(MARKER), e.getMessage());
  }
}
