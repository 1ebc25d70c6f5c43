package dev.oranc.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real CNCF distribution registry ({@code docker-registry serve}, 2.8) on a loopback port, with
 * filesystem storage in a temporary directory, in one of three {@link RegistryFlavour}s.
 *
 * <pre>{@code
 * try (Registry registry = Registry.start(RegistryFlavour.TOKEN)) {
 *   String digest = registry.putBlob("test/cache", bytes);          // seed, as USER
 *   runOranc("--registry", registry.proxyAddress(), ...);           // the client under test
 *   assertEquals(1, registry.tokenRequests());
 *   assertEquals(0, registry.proxiedRequests("PUT", "/v2/test/cache/blobs/uploads/.*").size());
 * }
 * }</pre>
 *
 * <p>The registry binds {@code 127.0.0.1:0} and the harness reads the port from its {@code
 * listening on 127.0.0.1:PORT} log line, so there is no race for a free port. It is ready once
 * {@code GET /v2/} answers 200 or 401; if that takes longer than 15 s, start fails with the log.
 *
 * <p><b>Counting.</b> Two sources, pick by what the test must see:
 *
 * <ul>
 *   <li>{@link #proxyAddress()}: a pass-through proxy in front of the registry (see {@link
 *       CountingProxy}). Clients pointed at it are recorded exactly: method, target, request and
 *       response payload bytes, status; complete by the time the client has its response. Use it
 *       for "the second upload sent no body". Only what goes through it is counted.
 *   <li>{@link #accessLog()}: distribution's own access log (combined format), for clients that
 *       talk to {@link #address()} directly. Method, target, status and response size only; the
 *       request size is not logged. A line is written when the handler returns, which is nearly
 *       always before the client has the whole response, but not guaranteed for large bodies.
 * </ul>
 *
 * <p>{@link #tokenRequests()} counts the token service's requests (TOKEN flavour). The harness's
 * own traffic ({@link RawClient}, the start-up probe) is counted by neither the token service nor
 * {@link #accessLog()}, and does not go through the proxy. {@link #resetCounters()} starts all
 * three afresh.
 *
 * <p>{@link #close()} stops the registry and the token service by PID, keeps the logs under {@code
 * ${oranc.test.logdir}/<TestClass>/registry-<flavour>.log} (plus {@code .tokens.log} and {@code
 * .proxy.log}) and deletes the storage.
 */
public final class Registry implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Registry.class);

  /** May push and pull (and delete) in BASIC and TOKEN registries. */
  public static final String USER = "oranc-user";

  public static final String PASSWORD = "oranc-user-password";

  /**
   * Only pulls in a TOKEN registry. In a BASIC one it may do everything (htpasswd mode has no
   * per-user rights), and it exists there only so the same credentials work in both.
   */
  public static final String READER = "oranc-reader";

  public static final String READER_PASSWORD = "oranc-reader-password";

  /** Overrides the registry binary ({@code docker-registry} on the PATH otherwise). */
  public static final String BINARY_PROPERTY = "oranc.test.registry";

  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
  private static final Pattern LISTENING = Pattern.compile("listening on (127\\.0\\.0\\.1:\\d+)");

  /** Apache combined format as gorilla/handlers writes it. */
  private static final Pattern ACCESS_LINE =
      Pattern.compile(
          "^\\S+ \\S+ \\S+ \\[[^\\]]*\\] \"(\\S+) (\\S+) [^\"]*\" (\\d{3}) (\\d+|-)"
              + " \"(?:[^\"\\\\]|\\\\.)*\" \"((?:[^\"\\\\]|\\\\.)*)\"");

  /** Options fixed at start. */
  public record Options(String name, TokenPolicy tokenPolicy) {
    /** Logs under the running test class; {@link TokenPolicy#DEFAULT}. */
    public static final Options DEFAULT = new Options(null, TokenPolicy.DEFAULT);

    public Options {
      Objects.requireNonNull(tokenPolicy, "tokenPolicy");
    }

    /** The log directory's name (a test class's simple name); null for the running test class. */
    public Options withName(String name) {
      return new Options(name, tokenPolicy);
    }

    public Options withTokenPolicy(TokenPolicy tokenPolicy) {
      return new Options(name, tokenPolicy);
    }
  }

  /** Closed at JVM exit if a test did not: stops them and deletes their storage. */
  private static final Set<Registry> live = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (Registry r : live) {
                    r.close();
                  }
                },
                "oranc-testkit-stop-registries"));
  }

  private final RegistryFlavour flavour;
  private final Path workDir;
  private final Path storageDir;
  private final Path logFile;
  private final ExternalProcess process;
  private final TokenService tokenService;
  private final CountingProxy proxy;
  private final String address;
  private final RawClient client;
  private volatile int accessLogMark;
  private boolean closed;

  private Registry(
      RegistryFlavour flavour,
      Path workDir,
      Path logFile,
      ExternalProcess process,
      TokenService tokenService,
      CountingProxy proxy,
      String address) {
    this.flavour = flavour;
    this.workDir = workDir;
    this.storageDir = workDir.resolve("storage");
    this.logFile = logFile;
    this.process = process;
    this.tokenService = tokenService;
    this.proxy = proxy;
    this.address = address;
    this.client = new RawClient(baseUri(), flavour, USER, PASSWORD);
  }

  public static Registry start(RegistryFlavour flavour) {
    return start(flavour, Options.DEFAULT);
  }

  public static Registry start(RegistryFlavour flavour, Options options) {
    Objects.requireNonNull(flavour, "flavour");
    String name = options.name() != null ? options.name() : TestLogs.currentTestClass();
    Path logDir = TestLogs.dir(name);
    Path logFile =
        TestLogs.newFile(logDir, "registry-" + flavour.name().toLowerCase(Locale.ROOT), ".log");
    Path workDir;
    try {
      workDir = Files.createTempDirectory("oranc-registry-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the registry's directory", e);
    }
    TokenService tokenService = null;
    ExternalProcess process = null;
    CountingProxy proxy = null;
    try {
      String auth = "";
      if (flavour == RegistryFlavour.BASIC) {
        Path htpasswd = workDir.resolve("htpasswd");
        Files.writeString(
            htpasswd, htpasswdLine(USER, PASSWORD) + htpasswdLine(READER, READER_PASSWORD));
        auth =
            """
            auth:
              htpasswd:
                realm: oranc-testkit
                path: %s
            """
                .formatted(yamlString(htpasswd));
      } else if (flavour == RegistryFlavour.TOKEN) {
        tokenService = new TokenService(sibling(logFile, ".tokens.log"), options.tokenPolicy());
        Path bundle = workDir.resolve("token-issuer.pem");
        Files.writeString(bundle, tokenService.certificatePem());
        auth =
            """
            auth:
              token:
                realm: %s
                service: %s
                issuer: %s
                rootcertbundle: %s
            """
                .formatted(
                    yamlString(tokenService.realm()),
                    TokenService.SERVICE,
                    TokenService.ISSUER,
                    yamlString(bundle));
      }
      Path config = workDir.resolve("config.yml");
      Files.writeString(config, config(workDir.resolve("storage")) + auth);
      process =
          ExternalProcess.start(
              "registry " + flavour, List.of(binary(), "serve", config.toString()), logFile);
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      Matcher listening = process.awaitLogLine(LISTENING, START_TIMEOUT);
      String address = listening.group(1);
      awaitReady(process, address, deadline);
      int colon = address.lastIndexOf(':');
      proxy =
          new CountingProxy(
              new InetSocketAddress(
                  address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))));
      Registry registry =
          new Registry(flavour, workDir, logFile, process, tokenService, proxy, address);
      live.add(registry);
      log.info("registry {} at {}, proxy {}", flavour, address, registry.proxyAddress());
      return registry;
    } catch (IOException | TimeoutException | RuntimeException e) {
      if (proxy != null) {
        proxy.close();
      }
      if (process != null) {
        process.close();
      }
      if (tokenService != null) {
        tokenService.close();
      }
      ExternalProcess.deleteTree(workDir);
      // ExternalProcess's own failures carry the log already.
      String logText = process == null ? "" : process.log();
      boolean logShown = logText.isEmpty() || String.valueOf(e.getMessage()).contains(logText);
      String message = "the " + flavour + " registry did not start: " + e.getMessage();
      if (process != null && process.exitCode().equals(Optional.of(127))) {
        message += "\n(" + binary() + " not found: scripts/install-deps installs docker-registry)";
      }
      throw new IllegalStateException(
          logShown ? message : message + "\nits log (" + logFile + "):\n" + logText, e);
    }
  }

  private static String binary() {
    return System.getProperty(BINARY_PROPERTY, "docker-registry");
  }

  /**
   * JSON application log on stderr, combined-format access log on stdout (both into the log file),
   * port 0, deletes allowed, no background upload purging.
   */
  private static String config(Path storage) {
    return """
    version: 0.1
    log:
      level: info
      formatter: json
      accesslog:
        disabled: false
    storage:
      filesystem:
        rootdirectory: %s
      delete:
        enabled: true
      maintenance:
        uploadpurging:
          enabled: false
    http:
      addr: 127.0.0.1:0
    """
        .formatted(yamlString(storage));
  }

  /**
   * bcrypt at the lowest cost Go accepts (4): distribution checks the password on every request,
   * and at the usual cost 10 that is tens of milliseconds each. These passwords are public.
   */
  private static String htpasswdLine(String user, String password) {
    byte[] salt = new byte[16];
    new SecureRandom().nextBytes(salt);
    return user + ":" + OpenBSDBCrypt.generate("2y", password.toCharArray(), salt, 4) + "\n";
  }

  private static String yamlString(Object value) {
    return "'" + value.toString().replace("'", "''") + "'";
  }

  private static Path sibling(Path logFile, String suffix) {
    String name = logFile.getFileName().toString();
    return logFile.resolveSibling(name.substring(0, name.length() - ".log".length()) + suffix);
  }

  private static void awaitReady(ExternalProcess process, String address, long deadline)
      throws TimeoutException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    HttpRequest probe =
        HttpRequest.newBuilder(URI.create("http://" + address + "/v2/"))
            .timeout(Duration.ofSeconds(2))
            .header("User-Agent", TokenService.HARNESS_USER_AGENT)
            .build();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("it exited (" + process.exitCode().orElse(-1) + ")");
      }
      try {
        int status = http.send(probe, HttpResponse.BodyHandlers.discarding()).statusCode();
        if (status == 200 || status == 401) {
          return;
        }
        last = "GET /v2/ answered " + status;
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      ExternalProcess.sleep(20);
    }
    throw new TimeoutException("not ready within " + START_TIMEOUT + " (" + last + ")");
  }

  // ----- where it is -----

  public RegistryFlavour flavour() {
    return flavour;
  }

  /** {@code 127.0.0.1:PORT}: what goes in {@code --registry}. */
  public String address() {
    return address;
  }

  /** {@code http://127.0.0.1:PORT}. */
  public URI baseUri() {
    return URI.create("http://" + address);
  }

  /** {@code 127.0.0.1:PORT} of the counting proxy in front of the registry. */
  public String proxyAddress() {
    return "127.0.0.1:" + proxy.port();
  }

  public URI proxyUri() {
    return URI.create("http://" + proxyAddress());
  }

  public Path storageDir() {
    return storageDir;
  }

  /** The registry's stdout and stderr: JSON application log lines and combined access log lines. */
  public Path logFile() {
    return logFile;
  }

  /** The registry process's PID. */
  public long pid() {
    return process.pid();
  }

  /** The token realm URL ({@code http://127.0.0.1:PORT/token}); TOKEN flavour only. */
  public String tokenRealm() {
    return tokens().realm();
  }

  /** The {@code service} the registry names in its challenges; TOKEN flavour only. */
  public String tokenServiceName() {
    tokens();
    return TokenService.SERVICE;
  }

  // ----- token policy and counters -----

  public TokenPolicy tokenPolicy() {
    return tokens().policy();
  }

  /** Changes how tokens are minted from now on (tokens handed out already keep their expiry). */
  public void tokenPolicy(TokenPolicy policy) {
    tokens().policy(Objects.requireNonNull(policy, "policy"));
  }

  /** Which repositories anonymous callers may pull (TOKEN flavour); all of them by default. */
  void anonymousPull(Predicate<String> publicRepository) {
    tokens().anonymousPull(Objects.requireNonNull(publicRepository, "publicRepository"));
  }

  /** Token requests served since start or {@link #resetCounters()}, refused ones included. */
  public int tokenRequests() {
    return tokenService == null ? 0 : tokenService.requestCount();
  }

  /** The requests behind {@link #tokenRequests()}, oldest first. */
  public List<TokenRequest> tokenRequestLog() {
    return tokenService == null ? List.of() : tokenService.requests();
  }

  /** Everything that went through {@link #proxyAddress()}, oldest first. */
  public List<ProxiedRequest> proxiedRequests() {
    return proxy.requests();
  }

  /** Those of {@link #proxiedRequests()} with this method whose path matches {@code pathRegex}. */
  public List<ProxiedRequest> proxiedRequests(String method, String pathRegex) {
    return proxy.requests().stream().filter(r -> r.matches(method, pathRegex)).toList();
  }

  /**
   * Distribution's access log since start or {@link #resetCounters()}, without the harness's own
   * requests. See the class comment for what it can and cannot show.
   */
  public List<AccessLogEntry> accessLog() {
    List<AccessLogEntry> entries = new ArrayList<>();
    List<AccessLogEntry> all = allAccessLogEntries();
    for (int i = accessLogMark; i < all.size(); i++) {
      if (!all.get(i).userAgent().equals(TokenService.HARNESS_USER_AGENT)) {
        entries.add(all.get(i));
      }
    }
    return entries;
  }

  /** Those of {@link #accessLog()} with this method whose path matches {@code pathRegex}. */
  public List<AccessLogEntry> accessLog(String method, String pathRegex) {
    return accessLog().stream().filter(e -> e.matches(method, pathRegex)).toList();
  }

  /**
   * Starts {@link #tokenRequests()}, {@link #proxiedRequests()} and {@link #accessLog()} afresh.
   */
  public void resetCounters() {
    if (tokenService != null) {
      tokenService.reset();
    }
    proxy.reset();
    accessLogMark = allAccessLogEntries().size();
  }

  private List<AccessLogEntry> allAccessLogEntries() {
    List<AccessLogEntry> entries = new ArrayList<>();
    for (String line : process.log().split("\n")) {
      Matcher m = ACCESS_LINE.matcher(line);
      if (m.find()) {
        entries.add(
            new AccessLogEntry(
                m.group(1),
                m.group(2),
                Integer.parseInt(m.group(3)),
                m.group(4).equals("-") ? 0 : Long.parseLong(m.group(4)),
                m.group(5)));
      }
    }
    return entries;
  }

  private TokenService tokens() {
    if (tokenService == null) {
      throw new IllegalStateException("a " + flavour + " registry has no token service");
    }
    return tokenService;
  }

  // ----- the raw client -----

  /** A {@link RawClient} authenticated as {@link #USER} (anonymous in ANONYMOUS flavour). */
  public RawClient client() {
    return client;
  }

  /** A {@link RawClient} with these credentials (their refusal shows as 401). */
  public RawClient client(String user, String password) {
    return new RawClient(
        baseUri(), flavour, Objects.requireNonNull(user), Objects.requireNonNull(password));
  }

  /** A {@link RawClient} without credentials. */
  public RawClient anonymousClient() {
    return new RawClient(baseUri(), flavour, null, null);
  }

  /** Uploads a blob as {@link #USER}; returns its digest. */
  public String putBlob(String repository, byte[] bytes) {
    return client.putBlob(repository, bytes);
  }

  /** Puts a manifest under {@code tag} as {@link #USER}; returns its digest. */
  public String putManifest(String repository, String tag, String mediaType, byte[] json) {
    return client.putManifest(repository, tag, mediaType, json);
  }

  public byte[] getBlob(String repository, String digest) {
    return client.getBlob(repository, digest);
  }

  public Optional<byte[]> getManifest(String repository, String tag) {
    return client.getManifest(repository, tag);
  }

  public List<String> tags(String repository) {
    return client.tags(repository);
  }

  // ----- stopping -----

  /** Stops everything by PID, keeps the logs, deletes the storage. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    live.remove(this);
    try {
      writeProxyLog();
      proxy.close();
    } finally {
      try {
        process.close();
      } finally {
        if (tokenService != null) {
          tokenService.close();
        }
        ExternalProcess.deleteTree(workDir);
      }
    }
  }

  private void writeProxyLog() {
    StringBuilder text = new StringBuilder();
    for (ProxiedRequest r : proxy.requests()) {
      text.append(
          String.format(
              "%s %s auth=%s sent=%d status=%d received=%d%n",
              r.method(),
              r.uri(),
              r.authorizationScheme() == null ? "-" : r.authorizationScheme(),
              r.bodyBytes(),
              r.status(),
              r.responseBodyBytes()));
    }
    try {
      Files.writeString(sibling(logFile, ".proxy.log"), text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      log.warn("cannot write {}: {}", sibling(logFile, ".proxy.log"), e.toString());
    }
  }

  @Override
  public String toString() {
    return "Registry[" + flavour + " at " + address + "]";
  }
}
