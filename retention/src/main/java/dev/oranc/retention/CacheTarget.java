package dev.oranc.retention;

import dev.oranc.common.error.Causes;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.config.RetryBudget;
import dev.oranc.common.tag.TagCodec;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The cache that {@code pin}, {@code gc} and {@code check} work on: one repository of one registry,
 * the credentials for it, and the tag codec its keys are written with. Owns its registry client.
 */
public final class CacheTarget implements AutoCloseable {

  /** One registry answer may take this long (retries included) before the command gives up. */
  private static final long ANSWER_MINUTES = 10;

  private final RegistryClient client;
  private final OciBinaryCache cache;
  private final RepositoryRef repository;
  private final Credentials credentials;

  public CacheTarget(
      RegistryClient client, TagCodec codec, RepositoryRef repository, Credentials credentials) {
    this.client = client;
    this.cache = new OciBinaryCache(client, codec);
    this.repository = repository;
    this.credentials = credentials;
  }

  /** A target with a client of its own, as the command line makes it. */
  public static CacheTarget open(
      String registry,
      String repository,
      boolean tls,
      RetryBudget maxRetry,
      TagCodec codec,
      Credentials credentials) {
    RegistryClient client =
        new RegistryClient(RegistryClientConfig.builder().tls(tls).retryBudget(maxRetry).build());
    return new CacheTarget(client, codec, RepositoryRef.of(registry, repository), credentials);
  }

  public RegistryClient client() {
    return client;
  }

  public OciBinaryCache cache() {
    return cache;
  }

  public TagCodec codec() {
    return cache.codec();
  }

  public RepositoryRef repository() {
    return repository;
  }

  public Credentials credentials() {
    return credentials;
  }

  /**
   * Waits for a registry answer on a worker thread (never on an event loop), unwrapping the
   * future's failure so the caller sees the registry's own exception.
   */
  public static <T> T await(CompletableFuture<T> future) throws InterruptedException {
    try {
      return future.get(ANSWER_MINUTES, TimeUnit.MINUTES);
    } catch (ExecutionException e) {
      Throwable cause = Causes.of(e);
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(cause);
    } catch (TimeoutException e) {
      future.cancel(false);
      throw new IllegalStateException(
          "the registry did not answer in " + ANSWER_MINUTES + " minutes", e);
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
