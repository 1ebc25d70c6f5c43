package dev.oranc.common.registry;

import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.concurrent.CompletableFuture;

/**
 * What every group of registry operations behind {@link RegistryClient} shares: the client's
 * config, its event loops and its one {@link CallRunner}, and the way a call to a repository is
 * addressed ({@code /v2/<name>/…} at the registry's origin, on the loop given or the next one).
 *
 * <p>Design note: {@link RegistryClient} is a facade in jib's manner; the operations live in one
 * class per kind of thing they touch ({@link ManifestCalls}, {@link BlobReads}, {@link BlobWrites},
 * {@link TagCalls}), each owning its URLs, methods, expected statuses and error reading. They
 * extend this class only to share the addressing, and all of them send through the same runner, so
 * auth, retries, rate limits and pooling stay in one place. They hold no state of their own except
 * {@link BlobWrites} (the upload sessions opened ahead, and which registries take a single POST).
 */
abstract class RepositoryCalls {

  static final int MAX_ERROR_BODY = 64 * 1024;

  final RegistryClientConfig config;
  final EventLoopGroup group;
  final CallRunner runner;

  RepositoryCalls(RegistryClientConfig config, EventLoopGroup group, CallRunner runner) {
    this.config = config;
    this.group = group;
    this.runner = runner;
  }

  Origin registryOrigin(RepositoryRef repo) {
    return Origin.ofRegistry(repo.endpoint(), config.tlsFor(repo.registry()));
  }

  /** One request to {@code /v2/<name>/<pathInRepo>} of the repository's registry. */
  CompletableFuture<Response> run(
      String operation,
      HttpMethod method,
      RepositoryRef repo,
      String pathInRepo,
      HttpHeaders headers,
      byte[] body,
      Credentials credentials,
      String scope,
      int maxBody,
      EventLoop loop) {
    Call call =
        new Call(
            operation,
            method,
            registryOrigin(repo),
            v2(repo, pathInRepo),
            headers,
            body,
            credentials,
            scope,
            false,
            maxBody,
            false,
            loopOrNext(loop));
    return runner.run(call);
  }

  static String v2(RepositoryRef repo, String pathInRepo) {
    return "/v2/" + repo.repository() + pathInRepo;
  }

  EventLoop loopOrNext(EventLoop loop) {
    return loop != null ? loop : group.next();
  }
}
