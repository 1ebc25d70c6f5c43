package dev.oranc.proxy.request;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.route.Route;
import java.util.function.Predicate;

/**
 * {@code --allow-registry} at routing: a request for a registry that no pattern names is refused
 * (403) before any registry is asked. The registry checked is the one the request will use, from
 * the path or from {@code ?registry=} (which wins), so a query cannot steer around a reverse
 * proxy's path rules or this list. Where the request may then connect is the address policy's to
 * say, in the registry client.
 */
public final class RegistryAllowList {

  public static final String NOT_SERVED =
      "not served here: this server serves only the registries its --allow-registry flags name";

  private final Predicate<String> serves;
  private final ServerMetrics metrics;

  /**
   * @param serves whether a registry is served ({@code ServerConfig.serves})
   */
  public RegistryAllowList(Predicate<String> serves, ServerMetrics metrics) {
    this.serves = serves;
    this.metrics = metrics;
  }

  /**
   * @throws RegistryException.Refused when the route names a registry not served
   */
  void check(Route route) {
    RepositoryRef repo;
    if (route instanceof Route.File f) {
      repo = f.repository();
    } else if (route instanceof Route.Multipart m) {
      repo = m.repository();
    } else {
      return;
    }
    if (serves.test(repo.registry())) {
      return;
    }
    metrics.registryNotAllowed();
    throw new RegistryException.Refused(
        "registry " + repo.registry(),
        NOT_SERVED,
        RegistryException.Refused.Reason.NOT_ALLOWED,
        null);
  }
}
