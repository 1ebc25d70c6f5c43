package dev.oranc.common.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.Manifest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.testkit.FakeRegistry;
import dev.oranc.testkit.Nginx;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end over real TLS on loopback (SECURITY.md, "Credentials only when asked, only where
 * TLS"): a TLS registry whose challenge names a plain-HTTP token service never gets the client to
 * send that service the credentials, or anything at all. The same registry naming an HTTPS token
 * service gets them sent there, so the plain one's count of zero is the refusal, not a path never
 * taken.
 */
class TokenServiceTlsTest {

  private static final String TOKEN = "tok-tls-test";

  @TempDir Path dir;

  private SslContext serverTls;
  private TrustManagerFactory trust;
  private FakeRegistry tokenService;
  private FakeRegistry registry;
  private RegistryClient client;

  @BeforeEach
  void certificate() throws Exception {
    // openssl's, for IP 127.0.0.1: the client verifies the host as it does every registry's.
    List<Path> pem = Nginx.selfSignedCertificate(dir);
    serverTls = SslContextBuilder.forServer(pem.get(0).toFile(), pem.get(1).toFile()).build();
    KeyStore roots = KeyStore.getInstance(KeyStore.getDefaultType());
    roots.load(null, null);
    try (InputStream in = Files.newInputStream(pem.get(0))) {
      roots.setCertificateEntry(
          "test-root", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(roots);
  }

  @AfterEach
  void close() {
    if (client != null) {
      client.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (tokenService != null) {
      tokenService.close();
    }
  }

  /** A token service answering every request with {@link #TOKEN}, plain or over TLS. */
  private void tokenService(SslContext tls) {
    tokenService =
        new FakeRegistry(
            (n, req, reply) -> reply.send(200, "{\"token\":\"" + TOKEN + "\",\"expires_in\":300}"),
            tls);
  }

  /** A TLS registry asking for a Bearer token from {@code realm}, and serving it with one. */
  private void registry(String realm) {
    registry =
        new FakeRegistry(
            (n, req, reply) -> {
              if (("Bearer " + TOKEN).equals(req.headers().get("Authorization"))) {
                reply.send(
                    200,
                    Manifest.OCI_MANIFEST,
                    RegistryClientFaultTest.MANIFEST_JSON.getBytes(StandardCharsets.UTF_8));
              } else {
                reply.send(
                    401,
                    "{}",
                    "WWW-Authenticate",
                    "Bearer realm=\""
                        + realm
                        + "\",service=\"fake\",scope=\"repository:owner/cache:pull\"");
              }
            },
            serverTls);
  }

  private RegistryClient client() {
    client =
        new RegistryClient(
            RegistryClientConfig.builder().maxAttempts(3).trustManagerFactory(trust).build());
    return client;
  }

  private RepositoryRef repo() {
    return RepositoryRef.of(registry.address(), "owner/cache");
  }

  @Test
  void aPlainHttpTokenServiceOfATlsRegistryGetsNoRequestAndTheCallFailsSayingWhy() {
    tokenService(null);
    registry("http://" + tokenService.address() + "/token");
    Throwable t =
        RegistryClientFaultTest.failure(
            client().getManifest(repo(), "t", Credentials.basic("user", "pw"), null));
    RegistryException.Protocol e = assertInstanceOf(RegistryException.Protocol.class, t);
    assertTrue(
        e.publicMessage()
            .contains(
                "the registry uses TLS but its token service does not; refusing to send"
                    + " credentials or fetch a token in clear text"),
        e.publicMessage());
    assertTrue(
        e.publicMessage().contains("from the token service of https://" + registry.address()),
        e.publicMessage());
    assertEquals(List.of(), tokenService.requestLines(), "the plain-HTTP token service was asked");
    // The registry was reached over TLS (its challenge came from there), and never with them.
    assertFalse(registry.requests().isEmpty());
    assertTrue(
        registry.requests().stream().noneMatch(r -> r.headers().contains("Authorization")),
        registry.requestLines().toString());
    assertEquals(0, client.tokenFetches());
  }

  @Test
  void anHttpsTokenServiceOfTheSameRegistryGetsTheCredentials() throws Exception {
    tokenService(serverTls);
    registry("https://" + tokenService.address() + "/token");
    assertTrue(
        RegistryClientFaultTest.await(
                client().getManifest(repo(), "t", Credentials.basic("user", "pw"), null))
            .isPresent());
    assertEquals(1, tokenService.requests().size(), tokenService.requestLines().toString());
    assertEquals(
        "Basic " + Base64.getEncoder().encodeToString("user:pw".getBytes(StandardCharsets.UTF_8)),
        tokenService.requests().get(0).headers().get("Authorization"));
    assertEquals(1, client.tokenFetches());
  }
}
