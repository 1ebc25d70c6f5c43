package dev.oranc.retention;

import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.Push;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.Registry;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** What the retention tests set up alike: a push's environment, and a cache to gc or check. */
final class TestCaches {

  private TestCaches() {}

  /** The variables a push reads: signing key {@code key}, the test registry's user. */
  static Map<String, String> pushEnvironment(Nix.KeyPair key) {
    Map<String, String> env = new HashMap<>();
    env.put(Push.SIGNING_KEY_VARIABLE, key.secret());
    env.put(Push.USERNAME_VARIABLE, Registry.USER);
    env.put(Push.PASSWORD_VARIABLE, Registry.PASSWORD);
    return env;
  }

  /** {@code repository} on the registry at {@code address}, plain HTTP, the test user's. */
  static CacheTarget target(String address, String repository) {
    RegistryClient client =
        new RegistryClient(
            RegistryClientConfig.builder()
                .tls(false)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
                .build());
    return new CacheTarget(
        client,
        TagCodec.DEFAULT,
        RepositoryRef.of(address, repository),
        Credentials.basic(Registry.USER, Registry.PASSWORD));
  }
}
