package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.layout.ImageLayout;
import dev.oranc.common.oci.Descriptor;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 14, point 10: credentials go only where they are asked for. Against the real registry,
 * through the harness's counting proxy (which records each request's auth scheme, never its value):
 * the first request to a registry is anonymous; one that challenges (htpasswd Basic, or a token
 * service) gets what it asked for from then on, without another 401; one that never challenges
 * never sees an {@code Authorization} header.
 */
class CredentialsWhenAskedTest {

  @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();

  private static final Credentials USER = Credentials.basic(Registry.USER, Registry.PASSWORD);

  private static String schemeAsked(RegistryFlavour flavour) {
    return switch (flavour) {
      case ANONYMOUS -> null;
      case BASIC -> "Basic";
      case TOKEN -> "Bearer";
    };
  }

  @ParameterizedTest
  @EnumSource(RegistryFlavour.class)
  void theFirstRequestIsAnonymousAndLaterOnesCarryOnlyWhatWasAskedFor(RegistryFlavour flavour)
      throws Exception {
    Registry r = registries.get(flavour);
    String scheme = schemeAsked(flavour);
    RepositoryRef repo =
        RepositoryRef.of(r.proxyAddress(), "asked/" + flavour.name().toLowerCase());
    try (RegistryClient client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
                .build())) {
      r.resetCounters();
      assertTrue(await(client.getManifest(repo, "missing", USER, null)).isEmpty());
      List<ProxiedRequest> requests = r.proxiedRequests();
      if (scheme == null) {
        assertEquals(1, requests.size(), requests.toString());
      } else {
        assertEquals(2, requests.size(), requests.toString());
        assertNull(requests.get(0).authorizationScheme(), "the first request is anonymous");
        assertEquals(401, requests.get(0).status());
      }
      assertEquals(scheme, requests.get(requests.size() - 1).authorizationScheme());
      assertEquals(404, requests.get(requests.size() - 1).status());

      // Remembered: later requests, a push too, carry it from the start and meet no 401.
      r.resetCounters();
      byte[] content = RegistryClientTest.randomBytes(10_000, flavour.ordinal());
      Descriptor d =
          await(client.putBlob(repo, content, null, ImageLayout.LAYER_MEDIA_TYPE, USER, null));
      assertEquals(
          content.length, await(client.headBlob(repo, d.digest(), USER, null)).getAsLong());
      requests = r.proxiedRequests();
      assertEquals(
          List.of("HEAD", "POST", "PUT", "HEAD"),
          requests.stream().map(ProxiedRequest::method).toList());
      for (ProxiedRequest q : requests) {
        assertEquals(scheme, q.authorizationScheme(), q.toString());
        assertTrue(q.status() != 401, q.toString());
      }
    }
  }
}
