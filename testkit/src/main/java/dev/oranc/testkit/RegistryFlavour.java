package dev.oranc.testkit;

/** How a test {@link Registry} authenticates clients. */
public enum RegistryFlavour {
  /** No authentication: anyone may pull and push. */
  ANONYMOUS,
  /**
   * HTTP Basic against an htpasswd file ({@code auth.htpasswd}). Every known user may do
   * everything: distribution has no per-user rights in this mode.
   */
  BASIC,
  /**
   * Bearer tokens from the harness's token service ({@code auth.token}), the Docker token protocol
   * as ghcr.io speaks it: anonymous pulls, {@link Registry#USER} pushes, {@link Registry#READER}
   * only pulls.
   */
  TOKEN
}
