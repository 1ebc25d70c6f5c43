package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.FaultInjector.Fault;
import dev.oranc.testkit.FaultInjector.Rule;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14, point 9: a blob {@code HEAD} follows redirects as a {@code GET} does. Distribution on
 * S3, GCS or Azure storage answers HEAD of a blob it has with 307 to the storage; not following it
 * made every re-PUT of content already there fail. Here a front on the real registry answers blob
 * HEADs with 307 to the registry's own port (another origin, as storage is), and passes the rest.
 */
class HeadRedirectTest {

  @RegisterExtension
  static final RegistryExtension registry = RegistryExtension.of(RegistryFlavour.ANONYMOUS);

  private static RegistryClient client() {
    return new RegistryClient(
        RegistryClientConfig.builder()
            .tls(false)
            .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
            .build());
  }

  /** Blob HEADs for {@code digest} in {@code repository} answered 307 to the registry itself. */
  static Rule redirectHead(Registry r, String repository, Digest digest) {
    String path = "/v2/" + repository + "/blobs/" + digest;
    return Rule.of(
        "HEAD",
        path.replace(".", "\\.") + "$",
        Fault.status(307, "Location", "http://" + r.address() + path),
        -1);
  }

  @Test
  void aBlobHeadFollowsARedirectAndAPutOfContentThereSendsNothing() throws Exception {
    Registry r = registry.get();
    String repository = "redirect/head";
    byte[] content = RegistryClientTest.randomBytes(20_000, 14);
    Digest there = Digest.sha256(content);
    Digest missing = Digest.sha256(new byte[] {1});
    r.putBlob(repository, content);
    try (FaultInjector front = new FaultInjector(r.address(), null);
        RegistryClient client = client()) {
      front.add(redirectHead(r, repository, there)).add(redirectHead(r, repository, missing));
      RepositoryRef repo = RepositoryRef.of(front.address(), repository);

      assertEquals(
          OptionalLong.of(content.length),
          await(client.headBlob(repo, there, Credentials.anonymous(), null)));
      assertEquals(
          OptionalLong.empty(),
          await(client.headBlob(repo, missing, Credentials.anonymous(), null)));
      assertEquals(2, front.injectedCount());

      // The retry of a PUT whose blob landed: found through the redirect, not sent again.
      Descriptor d =
          await(
              client.putBlob(
                  repo,
                  content,
                  null,
                  ImageLayout.LAYER_MEDIA_TYPE,
                  Credentials.anonymous(),
                  null));
      assertEquals(there, d.digest());
      assertEquals(3, front.injectedCount());
      assertTrue(
          front.requests().stream().noneMatch(q -> q.startsWith("POST") || q.startsWith("PUT")),
          front.requests().toString());
    }
  }

  @Test
  void aRedirectedHeadCarriesNoCredentialsToTheOtherHost() throws Exception {
    try (FakeRegistry storage =
            new FakeRegistry(
                (n, req, reply) -> reply.send(200, "application/octet-stream", new byte[0]));
        FakeRegistry front =
            new FakeRegistry(
                (n, req, reply) -> {
                  if (!req.headers().contains("Authorization")) {
                    reply.send(401, "{}", "WWW-Authenticate", "Basic realm=\"front\"");
                  } else {
                    reply.send(
                        307,
                        "application/json",
                        new byte[0],
                        "Location",
                        "http://localhost:" + storage.address().split(":")[1] + "/blob?sig=s");
                  }
                });
        RegistryClient client = client()) {
      RepositoryRef repo = RepositoryRef.of(front.address(), "a/b");
      OptionalLong size =
          await(
              client.headBlob(repo, new Digest("e".repeat(64)), Credentials.basic("u", "p"), null));
      assertEquals(OptionalLong.of(0), size);
      assertEquals(2, front.requests().size());
      assertEquals("HEAD", storage.requests().get(0).method());
      assertFalse(
          storage.requests().get(0).headers().contains("Authorization"),
          "another host gets no credentials");
    }
  }
}
