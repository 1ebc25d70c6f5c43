package dev.oranc.testkit;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real Nix 2.8 CLI, offline: builds throwaway store paths and deletes them again, generates
 * signing keys, and runs {@code nix}, {@code nix-store} and {@code nix-build} with the options this
 * machine needs.
 *
 * <p>Every command gets {@code --option substituters ""} (never ask the network about our paths),
 * {@code --option sandbox false} (the sandbox would hide {@code /bin/sh}, our builder) and {@code
 * --option build-users-group ""} (Debian's nix-bin creates no {@code nixbld} group; root builds as
 * itself). {@code nix} also gets {@code --extra-experimental-features nix-command}.
 *
 * <p>The store is shared with everything else on the machine. Every path is built with a random
 * salt in its name, every output and {@code .drv} built through an instance is remembered, and
 * {@link #close()} deletes exactly those with {@code nix-store --delete}, never a garbage
 * collection. A path another live path still refers to (say, an output of a second instance that is
 * still open) cannot be deleted yet; it is kept in a JVM-wide list and retried by later {@code
 * close()} calls and at JVM exit.
 */
public final class Nix implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Nix.class);

  public static final Path BIN = Path.of("/usr/bin");

  private static final List<String> OPTIONS =
      options("substituters", "", "sandbox", "false", "build-users-group", "");

  private static final Set<String> TOOLS =
      Set.of("nix", "nix-store", "nix-build", "nix-instantiate", "nix-hash", "nix-env");

  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

  /** Nix's rule for the name part of a store path. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9+\\-._?=]+");

  private static final SecureRandom random = new SecureRandom();

  /** Paths whose deletion failed because something live still referred to them. */
  private static final Set<String> leftovers = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(Nix::retryLeftovers, "oranc-testkit-nix-leftovers"));
  }

  /** Outputs and derivations in build order; deleted in reverse. */
  private final Set<String> built = new LinkedHashSet<>();

  private boolean closed;

  public Nix() {}

  /** What {@code nix path-info --json} says about a store path. */
  public record StorePathInfo(
      String path, String deriver, List<String> references, String narHash, long narSize) {
    public StorePathInfo {
      Objects.requireNonNull(path, "path");
      references = List.copyOf(references);
    }

    /** The 32-character hash part of the path. */
    public String hashPart() {
      return path.substring(path.lastIndexOf('/') + 1, path.lastIndexOf('/') + 33);
    }

    @Override
    public String toString() {
      return path;
    }
  }

  /**
   * A Nix signing key pair in Nix's text form ({@code name:base64}). {@link #toString()} shows the
   * public key only.
   */
  public record KeyPair(String name, String secret, String publicKey) {
    public KeyPair {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(secret, "secret");
      Objects.requireNonNull(publicKey, "publicKey");
    }

    @Override
    public String toString() {
      return "KeyPair[name=" + name + ", publicKey=" + publicKey + ", secret=<redacted>]";
    }
  }

  /** The outcome of a command; {@link #stdout()} and {@link #stderr()} as UTF-8 text. */
  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    public Result {
      command = List.copyOf(command);
    }

    public boolean succeeded() {
      return exitCode == 0;
    }

    /** {@link #stdout()} if the command succeeded; otherwise an error with its stderr. */
    public String requireSuccess() {
      if (exitCode != 0) {
        throw new AssertionError(
            String.join(" ", command) + " failed (exit " + exitCode + "):\n" + stderr.strip());
      }
      return stdout;
    }
  }

  // ----- building -----

  /**
   * Builds a fresh store path: a regular file holding {@code contents} followed by one line per
   * reference (the reference's store path), so Nix records each one as a reference. The name is
   * {@code name-<random salt>}.
   *
   * @param references existing store paths (typically built by this instance before)
   */
  public StorePathInfo build(String name, String contents, List<String> references) {
    return buildWith(
        name,
        contents,
        references,
        "printf '%s' \"$contents\" > $out; for r in $refs; do printf '\\n%s' \"$r\" >> $out; done");
  }

  public StorePathInfo build(String name, String contents) {
    return build(name, contents, List.of());
  }

  /**
   * Builds a fresh directory store path, for NAR tests: {@code README} (holding {@code contents}),
   * an executable {@code bin/hello}, a symlink {@code bin/hi -> hello}, a symlink {@code
   * share/readme -> ../README}, an empty directory {@code empty}, a file {@code refs} naming each
   * reference, and a file {@code self} naming the output itself, so the path refers to itself as
   * well as to {@code references}.
   */
  public StorePathInfo buildTree(String name, String contents, List<String> references) {
    return buildWith(
        name,
        contents,
        references,
        String.join(
            "; ",
            "mkdir -p $out/bin $out/share $out/empty",
            "printf '%s' \"$contents\" > $out/README",
            "printf '#!/bin/sh\\necho hello\\n' > $out/bin/hello",
            "chmod 555 $out/bin/hello",
            "ln -s hello $out/bin/hi",
            "ln -s ../README $out/share/readme",
            "printf '%s' \"$out\" > $out/self",
            ": > $out/refs",
            "for r in $refs; do printf '%s\\n' \"$r\" >> $out/refs; done"));
  }

  /**
   * Like {@link #build(String, String)}, and the builder prints {@code contents} as well, so the
   * derivation has a build log (Nix keeps it under {@code /nix/var/log/nix/drvs}; {@link #logFile}
   * names it for deletion).
   */
  public StorePathInfo buildLogging(String name, String contents) {
    return buildWith(
        name,
        contents,
        List.of(),
        "printf '%s\\n' \"$contents\"; printf '%s' \"$contents\" > $out");
  }

  /** Where Nix 2.8 keeps the (bzip2) build log of {@code drv}. */
  public static Path logFile(String drv) {
    String base = drv.substring(drv.lastIndexOf('/') + 1);
    return Path.of("/nix/var/log/nix/drvs", base.substring(0, 2), base.substring(2) + ".bz2");
  }

  /** Nix's options for content-addressed derivations (Nix 2.8: an experimental feature). */
  public static final List<String> CA_DERIVATIONS =
      List.of("--extra-experimental-features", "ca-derivations");

  /** A content-addressed build: the derivation and what it was built to. */
  public record ContentAddressed(String drv, StorePathInfo output) {}

  /**
   * Builds a fresh content-addressed derivation ({@code __contentAddressed = true}, recursive
   * SHA-256) with {@code ca-derivations} enabled: a regular file holding {@code contents}. Nix
   * records its realisation in the database, signed by the keys of {@code secretKeyFiles} (Nix's
   * {@code secret-key-files}; none: unsigned). The realisation goes with the output when {@link
   * #close()} deletes it (the database cascades).
   */
  public ContentAddressed buildContentAddressed(
      String name, String contents, List<Path> secretKeyFiles) {
    List<String> options = new ArrayList<>(CA_DERIVATIONS);
    if (!secretKeyFiles.isEmpty()) {
      options.addAll(
          List.of(
              "--option",
              "secret-key-files",
              String.join(" ", secretKeyFiles.stream().map(Path::toString).toList())));
    }
    String attributes =
        "  __contentAddressed = true;\n"
            + "  outputHashMode = \"recursive\";\n"
            + "  outputHashAlgo = \"sha256\";\n";
    StorePathInfo out =
        buildWith(
            name, contents, List.of(), "printf '%s' \"$contents\" > $out", attributes, options);
    return new ContentAddressed(lastDerivation, out);
  }

  /** The derivation of the last build (a content-addressed output may not name it as deriver). */
  private String lastDerivation;

  StorePathInfo buildWith(String name, String contents, List<String> references, String script) {
    return buildWith(name, contents, references, script, "", List.of());
  }

  /**
   * @param attributes more attributes of the derivation (Nix text)
   * @param options more options of {@code nix-instantiate} and {@code nix-store --realise}
   */
  synchronized StorePathInfo buildWith(
      String name,
      String contents,
      List<String> references,
      String script,
      String attributes,
      List<String> options) {
    if (closed) {
      throw new IllegalStateException("this Nix is closed");
    }
    String salted = name + "-" + HexFormat.of().formatHex(randomBytes(8));
    if (!NAME.matcher(salted).matches() || salted.startsWith(".") || salted.length() > 211) {
      throw new IllegalArgumentException(
          "name: " + name + " (expected: letters, digits and +-._?= not starting with '.')");
    }
    StringBuilder refs = new StringBuilder();
    for (String r : references) {
      if (!r.startsWith("/nix/store/")) {
        throw new IllegalArgumentException("reference: " + r + " (expected: a /nix/store path)");
      }
      refs.append(' ').append(nixString(r));
    }
    // builtins.storePath gives the reference string context: Nix then makes it an input of the
    // build and finds it in the output when it scans for references. Builds see no PATH; without
    // the sandbox the host's tools are there to use.
    String expression =
        """
        builtins.derivation {
          name = %s;
          system = builtins.currentSystem;
          builder = "/bin/sh";
          PATH = "/usr/bin:/bin";
          args = [ "-c" %s ];
          contents = %s;
          refs = map builtins.storePath [%s ];
        %s}
        """
            .formatted(nixString(salted), nixString(script), nixString(contents), refs, attributes);
    // Instantiate, then realise: the .drv is remembered before anything can fail, so a failed
    // build leaves nothing behind either.
    List<String> instantiate = new ArrayList<>(List.of("nix-instantiate", "-E", expression));
    instantiate.addAll(options);
    String drv = exec(null, DEFAULT_TIMEOUT, instantiate).requireSuccess().strip();
    requireOneStorePath("nix-instantiate", drv);
    built.add(drv);
    lastDerivation = drv;
    List<String> realise = new ArrayList<>(List.of("nix-store", "--realise", drv));
    realise.addAll(options);
    Result realised = exec(null, DEFAULT_TIMEOUT, realise);
    if (!realised.succeeded()) {
      removeStaleLocks(drv);
      realised.requireSuccess();
    }
    String out = realised.stdout().strip();
    requireOneStorePath("nix-store --realise", out);
    built.add(out);
    return pathInfo(out);
  }

  private static void requireOneStorePath(String tool, String printed) {
    if (!printed.startsWith("/nix/store/") || printed.contains("\n")) {
      throw new AssertionError(tool + " printed " + printed + " (expected: one store path)");
    }
  }

  /**
   * Nix 2.8 leaves {@code <output>.lock} behind when a build fails, and only a garbage collection
   * would remove it. The name carries our salt, so it is ours to remove.
   */
  private static void removeStaleLocks(String drv) {
    Result outputs = exec(null, DEFAULT_TIMEOUT, List.of("nix-store", "--query", "--outputs", drv));
    if (!outputs.succeeded()) {
      return;
    }
    for (String out : outputs.stdout().strip().split("\n")) {
      if (out.startsWith("/nix/store/") && !Files.exists(Path.of(out))) {
        try {
          Files.deleteIfExists(Path.of(out + ".lock"));
        } catch (IOException e) {
          log.warn("cannot remove {}.lock: {}", out, e.toString());
        }
      }
    }
  }

  /** {@code nix path-info --json} of one valid path. */
  @SuppressWarnings("unchecked")
  public static StorePathInfo pathInfo(String path) {
    String json = run("nix", "path-info", "--json", path);
    try {
      List<Object> infos = JSON.std.listFrom(json);
      Map<String, Object> info = (Map<String, Object>) infos.get(0);
      return new StorePathInfo(
          (String) info.get("path"),
          (String) info.get("deriver"),
          (List<String>) info.get("references"),
          (String) info.get("narHash"),
          ((Number) info.get("narSize")).longValue());
    } catch (IOException | RuntimeException e) {
      throw new AssertionError("cannot read nix path-info --json output: " + json, e);
    }
  }

  /** Everything this instance built and has not deleted yet, outputs and derivations. */
  public synchronized List<String> builtPaths() {
    return List.copyOf(built);
  }

  /**
   * Deletes every path this instance built. Paths still referred to by live paths outside this
   * instance are kept and retried later (see the class comment). Idempotent.
   */
  @Override
  public synchronized void close() {
    closed = true;
    List<String> paths = new ArrayList<>(built);
    built.clear();
    Collections.reverse(paths);
    delete(paths);
    retryLeftovers();
  }

  private static void delete(List<String> paths) {
    List<String> existing = paths.stream().filter(p -> Files.exists(Path.of(p))).toList();
    if (existing.isEmpty()) {
      return;
    }
    List<String> argv = new ArrayList<>(List.of("nix-store", "--delete"));
    argv.addAll(existing);
    if (exec(null, DEFAULT_TIMEOUT, argv).succeeded()) {
      return;
    }
    // Something outside the set keeps one of them alive, and nix-store stops at the first such
    // path. One at a time, referrers first, keeps whatever can go.
    for (String p : existing) {
      if (Files.exists(Path.of(p))) {
        Result r = exec(null, DEFAULT_TIMEOUT, List.of("nix-store", "--delete", p));
        if (!r.succeeded()) {
          if (r.stderr().contains("still alive")) {
            leftovers.add(p);
          } else {
            log.warn("cannot delete {}: {}", p, r.stderr().strip());
          }
        }
      }
    }
  }

  private static synchronized void retryLeftovers() {
    if (leftovers.isEmpty()) {
      return;
    }
    List<String> paths = new ArrayList<>(leftovers);
    leftovers.clear();
    delete(paths);
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** {@code --option NAME VALUE} for each pair. */
  private static List<String> options(String... namesAndValues) {
    List<String> argv = new ArrayList<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      argv.addAll(List.of("--option", namesAndValues[i], namesAndValues[i + 1]));
    }
    return List.copyOf(argv);
  }

  /** A Nix string literal for any text (quotes, backslashes, {@code $}, CR, LF, tab escaped). */
  public static String nixString(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '$' -> b.append("\\$");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> b.append(c);
      }
    }
    return b.append('"').toString();
  }

  // ----- keys -----

  /**
   * A fresh Ed25519 key pair from {@code nix key generate-secret --key-name NAME} and {@code nix
   * key convert-secret-to-public}.
   */
  public static KeyPair generateKey(String name) {
    String secret = run("nix", "key", "generate-secret", "--key-name", name).strip();
    String publicKey =
        exec(secret, DEFAULT_TIMEOUT, List.of("nix", "key", "convert-secret-to-public"))
            .requireSuccess()
            .strip();
    TestSecrets.record(secret);
    return new KeyPair(name, secret, publicKey);
  }

  // ----- running -----

  /**
   * Runs a Nix tool ({@code argv[0]} is {@code nix}, {@code nix-store}, {@code nix-build}, ...)
   * with the offline options; returns its stdout, or fails with its stderr.
   */
  public static String run(String... argv) {
    return exec(null, DEFAULT_TIMEOUT, Arrays.asList(argv)).requireSuccess();
  }

  /**
   * {@code nix ARGS OPTIONS} (offline options added as {@link #run} does, 3 minutes at most): its
   * stdout, or a failure with its stderr. For the tests that run {@code nix copy} and {@code nix
   * path-info} against a server with options of their own ({@code --store}, a netrc file).
   */
  public static String nix(List<String> options, String... args) {
    List<String> argv = new ArrayList<>();
    argv.add("nix");
    argv.addAll(Arrays.asList(args));
    argv.addAll(options);
    return exec(null, Duration.ofMinutes(3), argv).requireSuccess();
  }

  /**
   * Deletes {@code dir} with everything in it, read-only files included (a store made with {@code
   * --store} holds them): {@code chmod -R u+w}, then {@code rm -rf}.
   */
  public static void deleteTree(Path dir) throws IOException, InterruptedException {
    new ProcessBuilder("chmod", "-R", "u+w", dir.toString()).start().waitFor();
    new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor();
  }

  /** Like {@link #run} with {@code stdin} as standard input. */
  public static String runWithInput(String stdin, String... argv) {
    return exec(stdin, DEFAULT_TIMEOUT, Arrays.asList(argv)).requireSuccess();
  }

  /** Runs a Nix tool with the offline options and returns the outcome, whatever it is. */
  public static Result exec(String stdin, Duration timeout, List<String> argv) {
    return exec(Map.of(), stdin, timeout, argv);
  }

  /**
   * Like {@link #exec(String, Duration, List)} with {@code environment} added to the tool's
   * environment (e.g. {@code NIX_SSL_CERT_FILE}, which Nix 2.8 reads and no option replaces).
   */
  public static Result exec(
      Map<String, String> environment, String stdin, Duration timeout, List<String> argv) {
    if (argv.isEmpty() || !TOOLS.contains(argv.get(0))) {
      throw new IllegalArgumentException(
          "argv: " + argv + " (expected: one of " + TOOLS + " and its arguments)");
    }
    Path tool = BIN.resolve(argv.get(0));
    if (!Files.isExecutable(tool)) {
      throw new AssertionError(tool + " is missing: install nix-bin (scripts/install-deps)");
    }
    List<String> command = new ArrayList<>();
    command.add(tool.toString());
    if (argv.get(0).equals("nix")) {
      command.add("--extra-experimental-features");
      command.add("nix-command");
    }
    command.addAll(OPTIONS);
    command.addAll(argv.subList(1, argv.size()));
    return execute(environment, stdin, timeout, command);
  }

  private static Result execute(
      Map<String, String> environment, String stdin, Duration timeout, List<String> command) {
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("oranc-nix-out", ".txt");
      err = Files.createTempFile("oranc-nix-err", ".txt");
      ProcessBuilder builder =
          new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      builder.environment().putAll(environment);
      Process p = builder.start();
      try (OutputStream in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(
            String.join(" ", command)
                + " did not finish within "
                + timeout
                + "; stderr:\n"
                + Files.readString(err, StandardCharsets.UTF_8));
      }
      return new Result(
          command,
          p.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted running " + String.join(" ", command), e);
    } finally {
      ExternalProcess.deleteTree(out);
      ExternalProcess.deleteTree(err);
    }
  }
}
