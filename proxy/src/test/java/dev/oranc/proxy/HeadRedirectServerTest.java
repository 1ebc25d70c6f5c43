package dev.oranc.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.oci.Digest;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.FaultInjector.Fault;
import dev.oranc.testkit.FaultInjector.Rule;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14, point 9, through {@code oranc server}: behind a registry that answers blob HEADs with
 * 307 to its storage (Distribution on S3, GCS or Azure), a PUT of content the repository already
 * has — the retry of a PUT whose blob landed but whose manifest did not — succeeds. Before, the
 * HEAD's 307 was taken as a failure and the PUT was a 502 for good; since issue 16 the server sends
 * no HEAD before an upload at all (the blob goes again, a cheaper thing than a round trip on every
 * PUT), and the client's handling of a redirected HEAD is tested in common.
 */
class HeadRedirectServerTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  /** HEADs of {@code digest}'s blob answered 307 to the registry itself, another origin. */
  private static Rule redirectHead(Registry r, String repository, Digest digest) {
    String path = "/v2/" + repository + "/blobs/" + digest;
    return Rule.of(
        "HEAD", path + "$", Fault.status(307, "Location", "http://" + r.address() + path), -1);
  }

  @Test
  void aRePutOfContentThereSucceedsBehindARegistryThatRedirectsHead() throws Exception {
    Registry r = registry.get();
    String repository = "redirect/reput";
    byte[] narinfo =
        "StorePath: /nix/store/abc-x\nURL: nar/abc.nar.xz\n".getBytes(StandardCharsets.UTF_8);
    Digest layer = Digest.sha256(narinfo);
    Digest config =
        Digest.sha256(
            ("{\"architecture\":\"\",\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
                    + layer
                    + "\"]}}")
                .getBytes(StandardCharsets.UTF_8));
    try (FaultInjector front = new FaultInjector(r.address(), null);
        TestServer server = TestServer.start()) {
      front.add(redirectHead(r, repository, layer)).add(redirectHead(r, repository, config));
      String path = "/" + front.address() + "/" + repository + "/abc.narinfo";

      HttpResponse<byte[]> first =
          server.put(path, narinfo, null, "Content-Type", "text/x-nix-narinfo");
      assertEquals(200, first.statusCode(), TestServer.text(first));
      HttpResponse<byte[]> again =
          server.put(path, narinfo, null, "Content-Type", "text/x-nix-narinfo");
      assertEquals(200, again.statusCode(), TestServer.text(again));
      // The server sends no HEAD before a blob it holds in memory (issue 16): the 307 never comes.
      assertEquals(0, front.injectedCount(), front.injected().toString());
      assertTrue(
          front.requests().stream().noneMatch(q -> q.startsWith("HEAD")),
          front.requests().toString());

      HttpResponse<byte[]> get = server.get(path, null);
      assertEquals(200, get.statusCode(), TestServer.text(get));
      assertArrayEquals(narinfo, get.body());
    }
  }
}
