package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClientFaultTest.await;
import static dev.oranc.common.registry.RegistryClientFaultTest.failure;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.error.RegistryException;
import dev.oranc.common.net.AddressPolicy;
import dev.oranc.common.net.AddressPolicy.AddressClass;
import dev.oranc.common.net.HostPattern;
import dev.oranc.common.net.Transport;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.AuthChallenge;
import dev.oranc.common.registry.auth.Authenticator;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Connections;
import dev.oranc.common.registry.transport.Origin;
import dev.oranc.testkit.FakeRegistry;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The address policy on every connection the client opens: the registry, a redirect target, a token
 * realm, an upload location. Everything listens on 127.0.0.1; the made-up names resolve there
 * through the policy's test hook, and the policy is told when to treat it as public.
 */
class AddressPolicyEnforcementTest {

  private static final InetAddress LOOPBACK = loopback();

  private final List<FakeRegistry> fakes = new ArrayList<>();
  private final List<AddressPolicy.Refusal> refused = new CopyOnWriteArrayList<>();
  private RegistryClient client;

  private static InetAddress loopback() {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private FakeRegistry fake(FakeRegistry.Behaviour b) {
    FakeRegistry f = new FakeRegistry(b);
    fakes.add(f);
    return f;
  }

  private static int port(FakeRegistry f) {
    return Integer.parseInt(f.address().substring(f.address().lastIndexOf(':') + 1));
  }

  /** The server's policy for its loopback registry (named explicitly), with the test's hooks. */
  private static AddressPolicy serverPolicy() {
    return AddressPolicy.publicOnly(List.of(HostPattern.parse("127.0.0.1")));
  }

  private RegistryClient client(AddressPolicy policy) {
    client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .maxAttempts(3)
                .readTimeout(Duration.ofSeconds(5))
                .backoff(Duration.ofMillis(10), Duration.ofMillis(40))
                .addressPolicy(policy.onRefusal(refused::add))
                .build());
    return client;
  }

  @AfterEach
  void close() {
    if (client != null) {
      client.close();
    }
    fakes.forEach(FakeRegistry::close);
  }

  private static final Digest DIGEST = new Digest("c".repeat(64));

  @Test
  void aRedirectToAnInternalNameIsRefusedAndItsTargetNeverAsked() throws Exception {
    FakeRegistry internal = fake((n, req, reply) -> reply.send(200, "{\"secret\":\"s3cr3t\"}"));
    FakeRegistry hostile =
        fake(
            (n, req, reply) ->
                reply.send(
                    307,
                    "application/json",
                    new byte[0],
                    "Location",
                    "http://credentials.internal.test:"
                        + port(internal)
                        + "/latest/meta-data?x=1"));
    AddressPolicy policy = serverPolicy().withTestName("credentials.internal.test", LOOPBACK);

    Throwable t =
        failure(
            client(policy)
                .getBlob(
                    RepositoryRef.of(hostile.address(), "owner/cache"),
                    DIGEST,
                    null,
                    Credentials.anonymous(),
                    null));

    RegistryException.Refused r = assertInstanceOf(RegistryException.Refused.class, t);
    assertEquals(RegistryException.Refused.Reason.ADDRESS, r.reason());
    assertEquals(0, internal.requests().size(), "the internal service never sees a request");
    assertEquals(1, hostile.requests().size(), "a refusal is not retried");
    assertEquals(
        List.of(
            new AddressPolicy.Refusal(
                "credentials.internal.test", port(internal), LOOPBACK, AddressClass.LOOPBACK)),
        refused);
  }

  @Test
  void theSameRedirectIsFollowedWhenThePolicyTakesTheAddressForPublic() throws Exception {
    byte[] blob = "hello".getBytes(StandardCharsets.UTF_8);
    FakeRegistry storage =
        fake((n, req, reply) -> reply.send(200, "application/octet-stream", blob));
    FakeRegistry registry =
        fake(
            (n, req, reply) ->
                reply.send(
                    307,
                    "application/json",
                    new byte[0],
                    "Location",
                    "http://storage.test:" + port(storage) + "/blob?sig=x"));
    AddressPolicy policy =
        serverPolicy()
            .withTestName("storage.test", LOOPBACK)
            .withTestClass(LOOPBACK, AddressClass.PUBLIC);

    BlobDownload d =
        await(
            client(policy)
                .getBlob(
                    RepositoryRef.of(registry.address(), "owner/cache"),
                    DIGEST,
                    null,
                    Credentials.anonymous(),
                    null));
    CollectingConsumer c = new CollectingConsumer(100);
    d.start(c);
    assertEquals(5, await(c.done));
    assertArrayEquals(blob, c.bytes());
    assertEquals(1, storage.requests().size());
    assertTrue(refused.isEmpty());
  }

  @Test
  void aTokenRealmOnAnInternalNameIsRefusedAndNeverSentTheCredentials() throws Exception {
    FakeRegistry tokens =
        fake((n, req, reply) -> reply.send(200, "{\"token\":\"t\",\"expires_in\":300}"));
    FakeRegistry hostile =
        fake(
            (n, req, reply) ->
                reply.send(
                    401,
                    "{}",
                    "WWW-Authenticate",
                    "Bearer realm=\"http://tokens.internal.test:"
                        + port(tokens)
                        + "/token\",service=\"x\""));
    AddressPolicy policy = serverPolicy().withTestName("tokens.internal.test", LOOPBACK);

    Throwable t =
        failure(
            client(policy)
                .getManifest(
                    RepositoryRef.of(hostile.address(), "owner/cache"),
                    "tag",
                    Credentials.basic("alice", "pw"),
                    null));

    assertInstanceOf(RegistryException.Refused.class, t);
    assertEquals(0, tokens.requests().size());
    assertEquals(1, refused.size());
    assertEquals("tokens.internal.test", refused.get(0).host());
  }

  @Test
  void aRegistryWhoseNameResolvesToAnInternalAddressIsNeverConnectedTo() throws Exception {
    FakeRegistry registry = fake((n, req, reply) -> reply.send(404, "{}"));
    RepositoryRef repo = RepositoryRef.of("registry.test:" + port(registry), "owner/cache");

    Throwable t =
        failure(
            client(serverPolicy().withTestName("registry.test", LOOPBACK))
                .getManifest(repo, "tag", Credentials.anonymous(), null));
    assertInstanceOf(RegistryException.Refused.class, t);
    assertTrue(t.getMessage().contains("registry.test:" + port(registry)), t.getMessage());
    assertTrue(t.getMessage().contains("--allow-registry"), t.getMessage());
    assertEquals(0, registry.requests().size());
    client.close();

    AddressPolicy asPublic =
        serverPolicy()
            .withTestName("registry.test", LOOPBACK)
            .withTestClass(LOOPBACK, AddressClass.PUBLIC);
    assertTrue(
        await(client(asPublic).getManifest(repo, "tag", Credentials.anonymous(), null)).isEmpty());
    assertEquals(1, registry.requests().size());
  }

  @Test
  void anUploadLocationOnAnInternalNameIsRefused() throws Exception {
    FakeRegistry internal = fake((n, req, reply) -> reply.send(201, "{}"));
    FakeRegistry hostile =
        fake(
            (n, req, reply) -> {
              if (req.method().equals("HEAD")) {
                reply.send(404, "{}");
              } else {
                reply.send(
                    202,
                    "application/json",
                    new byte[0],
                    "Location",
                    "http://upload.internal.test:"
                        + port(internal)
                        + "/v2/owner/cache/blobs/uploads/u1");
              }
            });
    AddressPolicy policy = serverPolicy().withTestName("upload.internal.test", LOOPBACK);

    Throwable t =
        failure(
            client(policy)
                .putBlob(
                    RepositoryRef.of(hostile.address(), "owner/cache"),
                    "x".getBytes(StandardCharsets.UTF_8),
                    null,
                    "application/octet-stream",
                    Credentials.anonymous(),
                    null));

    assertInstanceOf(RegistryException.Refused.class, t);
    assertEquals(0, internal.requests().size());
  }

  @Test
  void anExplicitlyNamedHostMayBeOnAnyAddressButAWildcardDoesNotOpenOne() throws Exception {
    FakeRegistry registry = fake((n, req, reply) -> reply.send(404, "{}"));
    RepositoryRef repo = RepositoryRef.of("local.test:" + port(registry), "owner/cache");
    AddressPolicy wildcard =
        AddressPolicy.publicOnly(
                List.of(HostPattern.parse("*.local.test"), HostPattern.parse("local.test:1")))
            .withTestName("local.test", LOOPBACK);
    assertInstanceOf(
        RegistryException.Refused.class,
        failure(client(wildcard).getManifest(repo, "tag", Credentials.anonymous(), null)));
    client.close();
    AddressPolicy named =
        AddressPolicy.publicOnly(List.of(HostPattern.parse("local.test:" + port(registry))))
            .withTestName("local.test", LOOPBACK);
    assertTrue(
        await(client(named).getManifest(repo, "tag", Credentials.anonymous(), null)).isEmpty());
  }

  @Test
  void pushsDefaultPolicyConnectsAnywhere() throws Exception {
    FakeRegistry registry = fake((n, req, reply) -> reply.send(404, "{}"));
    assertFalse(RegistryClientConfig.defaults().addressPolicy().enforced());
    client = new RegistryClient(RegistryClientConfig.builder().tls(false).build());
    assertTrue(
        await(
                client.getManifest(
                    RepositoryRef.of(registry.address(), "owner/cache"),
                    "tag",
                    Credentials.anonymous(),
                    null))
            .isEmpty());
  }

  @Test
  void aRedirectFromHttpsToPlainHttpIsADowngrade() {
    Origin https = new Origin(true, "registry.test", 443);
    assertTrue(AuthOrRedirect.isDowngrade(https, new Origin(false, "registry.test", 80)));
    assertTrue(AuthOrRedirect.isDowngrade(https, new Origin(false, "storage.test", 443)));
    assertFalse(AuthOrRedirect.isDowngrade(https, new Origin(true, "storage.test", 443)));
    assertFalse(
        AuthOrRedirect.isDowngrade(
            new Origin(false, "registry.test", 80), new Origin(false, "storage.test", 80)));
    assertFalse(AuthOrRedirect.isDowngrade(new Origin(false, "registry.test", 80), https));
  }

  @Test
  void aTlsRegistrysPlainHttpTokenRealmIsRefusedWithOrWithoutCredentials() throws Exception {
    RegistryClientConfig config = RegistryClientConfig.builder().build();
    Connections connections = new Connections(config);
    CallRunner runner = new CallRunner(connections, config);
    Authenticator authenticator = new Authenticator(runner, Ticker.systemTicker());
    runner.authenticator(authenticator);
    Origin registry = new Origin(true, "registry.test", 443);
    // Port 1 on loopback: were the realm asked, the failure would be a connection's, not this.
    AuthChallenge challenge =
        AuthChallenge.parse("Bearer realm=\"http://127.0.0.1:1/token\",service=\"x\"")
            .orElseThrow();
    EventLoopGroup group = Transport.newGroup(1, "test-auth");
    try {
      for (Credentials credentials :
          List.of(Credentials.anonymous(), Credentials.basic("alice", "pw"))) {
        assertTrue(
            authenticator.learn(registry, challenge, credentials, "repository:o/c:pull", null));
        CompletableFuture<String> f =
            authenticator.authorization(registry, credentials, "repository:o/c:pull", group.next());
        Throwable t = failure(f);
        RegistryException.Protocol p = assertInstanceOf(RegistryException.Protocol.class, t);
        assertTrue(p.getMessage().contains("clear text"), p.getMessage());
      }
      assertEquals(0, authenticator.tokenFetches());
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void insecureRegistriesArePlainHttpAndEveryOtherKeepsTls() {
    RegistryClientConfig c =
        RegistryClientConfig.builder()
            .insecureRegistries(
                List.of(HostPattern.parse("127.0.0.1:5000"), HostPattern.parse("local.lan")))
            .build();
    assertFalse(c.tlsFor("127.0.0.1:5000"));
    assertTrue(c.tlsFor("127.0.0.1:5001"));
    assertFalse(c.tlsFor("local.lan"));
    assertFalse(c.tlsFor("LOCAL.LAN:8080"));
    assertTrue(c.tlsFor("ghcr.io"));
    assertFalse(
        RegistryClientConfig.builder().tls(false).build().tlsFor("ghcr.io"),
        "--no-ssl: every registry");
    RegistryClient client = new RegistryClient(c);
    try {
      assertEquals(
          new Origin(false, "127.0.0.1", 5000),
          client.registryOrigin(RepositoryRef.of("127.0.0.1:5000", "o/c")));
      assertEquals(
          new Origin(true, "ghcr.io", 443),
          client.registryOrigin(RepositoryRef.of("ghcr.io", "o/c")));
      assertEquals(
          new Origin(false, "local.lan", 80),
          client.registryOrigin(RepositoryRef.of("local.lan", "o/c")));
    } finally {
      client.close();
    }
  }
}
