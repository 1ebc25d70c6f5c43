package dev.oranc.common.registry;

import static dev.oranc.common.registry.RegistryClient.pull;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.oci.TagList;
import dev.oranc.common.registry.auth.Credentials;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.registry.transport.Origin;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The tag list of {@link RegistryClient}: {@code GET /v2/<name>/tags/list?n=}, following the
 * registry's {@code Link: <…>; rel="next"} pages up to the caller's limit.
 *
 * <p>Design note: a page is read whole but bounded ({@link #MAX_TAG_PAGE_BYTES}: distribution 2.8
 * ignores {@code n} and sends every tag at once). A next page on another origin is refused, so that
 * the credentials never follow a registry's link elsewhere. A repository that does not exist has no
 * tags (404 on the first page), which is complete.
 */
final class TagCalls extends RepositoryCalls {

  TagCalls(RegistryClientConfig config, EventLoopGroup group, CallRunner runner) {
    super(config, group, runner);
  }

  /** The largest page of a tag list we read: distribution 2.8 ignores {@code n} and sends all. */
  static final int MAX_TAG_PAGE_BYTES = 16 << 20;

  CompletableFuture<TagList> listTags(
      RepositoryRef repo, int pageSize, int maxPages, Credentials credentials, EventLoop loop) {
    if (pageSize < 1 || maxPages < 1) {
      throw new IllegalArgumentException(
          "pageSize " + pageSize + ", maxPages " + maxPages + " (expected: at least 1 each)");
    }
    EventLoop l = loopOrNext(loop);
    return listTags(
        repo, v2(repo, "/tags/list?n=" + pageSize), new ArrayList<>(), 1, maxPages, credentials, l);
  }

  private CompletableFuture<TagList> listTags(
      RepositoryRef repo,
      String target,
      List<String> tags,
      int page,
      int maxPages,
      Credentials credentials,
      EventLoop loop) {
    String operation = "GET tags " + repo + " (page " + page + ")";
    Call call =
        new Call(
            operation,
            HttpMethod.GET,
            registryOrigin(repo),
            target,
            new DefaultHttpHeaders().set(HttpHeaderNames.ACCEPT, "application/json"),
            null,
            credentials,
            pull(repo),
            false,
            MAX_TAG_PAGE_BYTES,
            false,
            loop);
    return runner
        .run(call)
        .thenCompose(
            r -> {
              if (r.status() == 404 && page == 1) {
                return CompletableFuture.completedFuture(new TagList(List.of(), true));
              }
              if (r.status() != 200) {
                throw RegistryErrors.fromResponse(operation, r, credentials);
              }
              tags.addAll(TagList.parsePage(operation, r.body()));
              String next = TagList.nextPage(r.headers().getAll("Link"));
              if (next == null) {
                return CompletableFuture.completedFuture(new TagList(tags, true));
              }
              if (page >= maxPages) {
                return CompletableFuture.completedFuture(new TagList(tags, false));
              }
              URI uri = registryOrigin(repo).resolve(target).resolve(next);
              if (!Origin.of(uri).equals(registryOrigin(repo))) {
                throw new RegistryException.Protocol(
                    operation, "the next page is on another host", uri.getHost(), null);
              }
              return listTags(
                  repo, BlobUpload.pathAndQuery(uri), tags, page + 1, maxPages, credentials, loop);
            });
  }
}
