package dev.oranc.push;

import com.fasterxml.jackson.jr.ob.JSON;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.RawClient;
import dev.oranc.testkit.Registry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Reads a pushed cache back from the registry with the harness's raw client (not our registry
 * client, so a bug there cannot hide one here): files by key, narinfos, decompressed NARs, and a
 * {@code file://} mirror that real Nix can verify and substitute from.
 */
final class CacheReader {

  private final RawClient client;
  private final String repository;

  CacheReader(Registry registry, String repository) {
    this.client = registry.client();
    this.repository = repository;
  }

  /** The file stored under {@code key}, checked against the layout of SPEC §1. */
  @SuppressWarnings("unchecked")
  Optional<StoredFile> file(String key) {
    String tag = TagCodec.DEFAULT.writeTag(key).value();
    Optional<byte[]> manifest = client.getManifest(repository, tag);
    if (manifest.isEmpty()) {
      return Optional.empty();
    }
    try {
      Map<String, Object> m = JSON.std.mapFrom(manifest.get());
      List<Object> layers = (List<Object>) m.get("layers");
      if (layers.size() != 1) {
        throw new AssertionError(key + ": " + layers.size() + " layers");
      }
      Map<String, Object> layer = (Map<String, Object>) layers.get(0);
      Map<String, Object> annotations = (Map<String, Object>) layer.get("annotations");
      Map<String, Object> imageAnnotations = (Map<String, Object>) m.get("annotations");
      if (!key.equals(imageAnnotations.get("com.linyinfeng.oranc.key"))) {
        throw new AssertionError(key + ": key annotation " + imageAnnotations);
      }
      String digest = (String) layer.get("digest");
      return Optional.of(
          new StoredFile(
              key,
              digest,
              ((Number) layer.get("size")).longValue(),
              (String) annotations.get("com.linyinfeng.oranc.content.type"),
              client.getBlob(repository, digest)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  record StoredFile(String key, String digest, long size, String contentType, byte[] bytes) {}

  Optional<NarInfo> narInfo(StorePath path) {
    return file(path.hashPart() + ".narinfo").map(f -> NarInfo.parse(f.bytes()));
  }

  Optional<NarInfo> narInfo(String path) {
    return narInfo(StorePath.parse(path));
  }

  /** The NAR a narinfo names, decompressed. */
  byte[] nar(NarInfo info) {
    StoredFile f = file(info.url()).orElseThrow(() -> new AssertionError("no " + info.url()));
    return unzstd(f.bytes());
  }

  static byte[] unzstd(byte[] compressed) {
    try (InputStream in = new ZstdInputStreamNoFinalizer(new ByteArrayInputStream(compressed))) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every key in the repository (decoded from its tags), sorted. */
  List<String> keys() {
    return client.tags(repository).stream().map(TagCodec.DEFAULT::decode).sorted().toList();
  }

  /** Writes every file into {@code dir} as a {@code file://} binary cache; key → file. */
  Map<String, Path> mirror(Path dir) throws IOException {
    Map<String, Path> files = new TreeMap<>();
    Files.createDirectories(dir.resolve("nar"));
    for (String key : keys()) {
      Path target = dir.resolve(key);
      Files.write(target, file(key).orElseThrow().bytes());
      files.put(key, target);
    }
    if (!files.containsKey(Push.NIX_CACHE_INFO)) {
      Files.writeString(dir.resolve(Push.NIX_CACHE_INFO), "StoreDir: /nix/store\n");
    }
    return files;
  }
}
