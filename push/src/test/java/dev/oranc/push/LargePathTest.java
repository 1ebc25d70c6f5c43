package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.oranc.common.nix.hash.NixHash;
import dev.oranc.common.nix.narinfo.NarInfo;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory is bounded whatever the NAR's size: a single path of 2 GiB (half random, half text) is
 * pushed by a JVM with a 256 MiB heap and 128 MiB of direct memory, and what the registry then
 * holds decompresses to a NAR with exactly the database's hash.
 */
class LargePathTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  static final long GIB = 1L << 30;
  static TestStore store;
  static Nix.KeyPair key;
  static String path;

  @BeforeAll
  static void build() {
    store = new TestStore();
    key = Nix.generateKey("oranc-push-large-1");
    path =
        store.build(
            new TestStore.Drv(
                "large",
                "mkdir $out; head -c "
                    + GIB
                    + " /dev/urandom > $out/random; "
                    + "yes 'a line of text that compresses well, again and again' | head -c "
                    + GIB
                    + " > $out/text"));
  }

  @AfterAll
  static void delete() {
    store.close();
  }

  @Test
  void aTwoGibPathIsPushedWithA256MibHeap(@TempDir Path tmp) throws Exception {
    Registry registry = registries.get();
    String repo = "large/cache";
    Path stdin = Files.writeString(tmp.resolve("paths"), path + "\n");
    ProcessBuilder pb =
        new ProcessBuilder(
                ForkedPush.command(
                    List.of("-Xmx256m", "-XX:MaxDirectMemorySize=128m"),
                    registry.address(),
                    repo,
                    4))
            .redirectInput(stdin.toFile())
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve("push.log").toFile());
    pb.environment().put(Push.SIGNING_KEY_VARIABLE, key.secret());
    Process push = pb.start();
    assertTrue(push.waitFor(10, TimeUnit.MINUTES), "the push finished");
    String log = Files.readString(tmp.resolve("push.log"), StandardCharsets.UTF_8);
    assertEquals(0, push.exitValue(), log);
    assertTrue(log.contains("pushed 1 path"), log);

    NixPathInfo nix = NixPathInfo.of(path);
    assertTrue(nix.narSize() > 2 * GIB, "the NAR is over 2 GiB: " + nix.narSize());
    CacheReader cache = new CacheReader(registry, repo);
    NarInfo info = cache.narInfo(path).orElseThrow();
    assertEquals(nix.narSize(), info.narSize());
    assertEquals(NixHash.parse(nix.narHash()), info.narHash());

    // Stream the stored NAR back: its blob has the narinfo's FileHash, and it decompresses to a
    // NAR with the database's hash and size.
    byte[] manifest =
        registry
            .client()
            .getManifest(repo, TagCodec.DEFAULT.writeTag(info.url()).value())
            .orElseThrow();
    String digest = "sha256:" + Uploads.narDigest(info);
    assertTrue(
        new String(manifest, StandardCharsets.UTF_8).contains(digest),
        "the NAR's tag names its blob");
    HttpResponse<InputStream> blob =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://" + registry.address() + "/v2/" + repo + "/blobs/" + digest))
                    .build(),
                HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, blob.statusCode());
    MessageDigest fileSha = Digest.newSha256();
    MessageDigest narSha = Digest.newSha256();
    long narBytes = 0;
    try (InputStream raw = blob.body();
        InputStream in = new ZstdInputStreamNoFinalizer(new DigestInputStream(raw, fileSha))) {
      byte[] buffer = new byte[1 << 20];
      int n;
      while ((n = in.read(buffer)) > 0) {
        narSha.update(buffer, 0, n);
        narBytes += n;
      }
    }
    assertEquals(nix.narSize(), narBytes);
    assertEquals(info.narHash(), NixHash.sha256(narSha.digest()));
    assertEquals(info.fileHash().orElseThrow(), NixHash.sha256(fileSha.digest()));
    System.err.println(log);
  }
}
