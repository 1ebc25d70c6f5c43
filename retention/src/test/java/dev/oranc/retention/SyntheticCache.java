package dev.oranc.retention;

import dev.oranc.common.nix.hash.Nix32;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A cache written straight through the client library, without a Nix store: chains of paths, each
 * referencing the one before, a narinfo and a NAR of random bytes each. gc and check read only the
 * registry, so this is all they need, at sizes and counts real builds would take long to make.
 */
final class SyntheticCache {

  private SyntheticCache() {}

  /** Writes the chains; the store paths of each chain, bottom first. */
  static List<List<String>> write(
      OciBinaryCache cache,
      RepositoryRef repo,
      Credentials credentials,
      int chains,
      int length,
      int narBytes,
      long seed)
      throws Exception {
    RegistryClient client = cache.client();
    Random random = new Random(seed);
    List<List<String>> paths = new ArrayList<>();
    List<CompletableFuture<?>> pending = new ArrayList<>();
    for (int c = 0; c < chains; c++) {
      List<String> chain = new ArrayList<>();
      String previous = null;
      for (int i = 0; i < length; i++) {
        byte[] hashBytes = new byte[20];
        random.nextBytes(hashBytes);
        String base = Nix32.encode(hashBytes) + "-synthetic-" + c + "-" + i;
        byte[] nar = new byte[narBytes];
        random.nextBytes(nar);
        byte[] fileHash = MessageDigest.getInstance("SHA-256").digest(nar);
        String narKey = "nar/" + HexFormat.of().formatHex(fileHash) + ".nar.zst";
        String narinfo =
            "StorePath: /nix/store/"
                + base
                + "\n"
                + "URL: "
                + narKey
                + "\n"
                + "Compression: zstd\n"
                + "FileHash: sha256:"
                + Nix32.encode(fileHash)
                + "\n"
                + "FileSize: "
                + nar.length
                + "\n"
                + "NarHash: sha256:"
                + Nix32.encode(fileHash)
                + "\n"
                + "NarSize: "
                + nar.length
                + "\n"
                + "References: "
                + (previous == null ? "" : previous)
                + "\n";
        byte[] narinfoBytes = narinfo.getBytes(StandardCharsets.UTF_8);
        String narinfoKey = base.substring(0, 32) + ".narinfo";
        pending.add(
            client
                .putBlob(repo, nar, null, "application/octet-stream", credentials, null)
                .thenCompose(
                    d ->
                        cache.publish(
                            repo, narKey, d, "application/x-nix-nar", null, credentials, null))
                .thenCompose(
                    t ->
                        client.putBlob(
                            repo,
                            narinfoBytes,
                            null,
                            "application/octet-stream",
                            credentials,
                            null))
                .thenCompose(
                    d ->
                        cache.publish(
                            repo, narinfoKey, d, "text/x-nix-narinfo", null, credentials, null)));
        previous = base;
        chain.add("/nix/store/" + base);
        if (pending.size() >= 32) {
          awaitAll(pending);
        }
      }
      paths.add(chain);
    }
    awaitAll(pending);
    return paths;
  }

  private static void awaitAll(List<CompletableFuture<?>> pending) throws Exception {
    for (CompletableFuture<?> f : pending) {
      f.get(5, TimeUnit.MINUTES);
    }
    pending.clear();
  }
}
