package dev.oranc.testkit;

import com.fasterxml.jackson.jr.ob.JSON;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A Docker token service (the {@code realm} of a {@link RegistryFlavour#TOKEN} registry), on a
 * loopback port of its own: {@code GET /token?service=S&scope=repository:NAME:pull,push}, scope
 * repeatable, {@code Authorization: Basic} optional, as ghcr.io serves it.
 *
 * <p>Grants: anonymous and {@link Registry#READER} get {@code pull} on every repository (a public
 * ghcr.io package), {@link Registry#USER} gets whatever it asks for; a wrong password or unknown
 * user gets 401. A scope nobody may have is left out of the token rather than refused, like
 * ghcr.io, and the registry then answers 401 {@code insufficient_scope}.
 *
 * <p>What distribution 2.8 checks ({@code registry/auth/token/token.go}): {@code iss} must be the
 * configured issuer, {@code aud} the configured service (a plain string in 2.8), {@code exp} and
 * {@code nbf} within a 60 s leeway, and the signing key must come from an {@code x5c} chain that
 * verifies against {@code rootcertbundle} (or a {@code jwk}, or a {@code kid} that is a libtrust
 * key id; we use {@code x5c}). The signature is checked with libtrust, which takes the JWS forms of
 * ES256 and RS256. So: a P-256 key, a self-signed certificate for it that is both the bundle and
 * the {@code x5c}, and ES256 JWTs; {@code access} lists {@code {type, name, actions}}.
 */
final class TokenService implements AutoCloseable {

  static final String SERVICE = "oranc-testkit-registry";
  static final String ISSUER = "oranc-testkit-token-service";
  static final String PATH = "/token";

  /** Requests with this User-Agent come from the harness itself and are not counted. */
  static final String HARNESS_USER_AGENT = "oranc-testkit-raw-client";

  private static final SecureRandom random = new SecureRandom();

  private final HttpServer server;
  private final ExecutorService executor;
  private final KeyPair key;
  private final byte[] certificateDer;
  private final Path logFile;
  private final AtomicInteger counted = new AtomicInteger();
  private final List<TokenRequest> requests = new CopyOnWriteArrayList<>();
  private volatile TokenPolicy policy;

  /**
   * Repositories an anonymous caller may pull; by default all (a public package). The ghcr.io-like
   * registry narrows it to the repositories made public: ghcr.io answers an anonymous token request
   * for a private package 401 (openai/tunnel-client#75 shows it with curl).
   */
  private volatile Predicate<String> anonymousPull = repository -> true;

  TokenService(Path logFile, TokenPolicy policy) {
    this.logFile = logFile;
    this.policy = policy;
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      this.key = generator.generateKeyPair();
      this.certificateDer = selfSignedCertificate(key);
      this.server =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make the token signing key", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the token service", e);
    }
    this.executor =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "oranc-testkit-token-service");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  String realm() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + PATH;
  }

  /** The certificate for distribution's {@code rootcertbundle}. */
  String certificatePem() {
    String base64 =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(certificateDer);
    return "-----BEGIN CERTIFICATE-----\n" + base64 + "\n-----END CERTIFICATE-----\n";
  }

  int requestCount() {
    return counted.get();
  }

  List<TokenRequest> requests() {
    return List.copyOf(requests);
  }

  void reset() {
    counted.set(0);
    requests.clear();
  }

  TokenPolicy policy() {
    return policy;
  }

  void policy(TokenPolicy policy) {
    this.policy = policy;
  }

  void anonymousPull(Predicate<String> anonymousPull) {
    this.anonymousPull = anonymousPull;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  // ----- the protocol -----

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      try {
        serve(exchange);
      } catch (RuntimeException e) {
        // The JDK server would only reset the connection; answer, and keep the reason in the log.
        appendLog("error " + e);
        exchange.sendResponseHeaders(500, -1);
      }
    }
  }

  /** What to answer, and what to record about it. */
  private record Answer(TokenRequest request, String json, boolean basicChallenge) {
    static Answer refused(
        String account, List<String> scopes, int status, String code, String why) {
      return new Answer(
          new TokenRequest(account, scopes, List.of(), status), error(code, why), status == 401);
    }
  }

  private void serve(HttpExchange exchange) throws IOException {
    boolean harness =
        HARNESS_USER_AGENT.equals(exchange.getRequestHeaders().getFirst("User-Agent"));
    Answer answer = answer(exchange);
    TokenRequest request = answer.request();
    if (!harness) {
      counted.incrementAndGet();
      requests.add(request);
    }
    // Never the token itself, nor the password.
    appendLog(
        String.format(
            "%s %s account=%s scopes=%s granted=%s status=%d%s",
            exchange.getRequestMethod(),
            exchange.getRequestURI().getPath(),
            request.account() == null ? "-" : request.account(),
            request.scopes(),
            request.granted(),
            request.status(),
            harness ? " (harness)" : ""));
    if (answer.basicChallenge()) {
      exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"oranc-testkit\"");
    }
    byte[] bytes = answer.json().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(request.status(), bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private Answer answer(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestURI().getPath().equals(PATH)) {
      return Answer.refused(null, List.of(), 404, "NOT_FOUND", "no such endpoint");
    }
    Map<String, List<String>> query = parseQuery(exchange.getRequestURI().getRawQuery());
    List<String> scopes = query.getOrDefault("scope", List.of());
    if (!exchange.getRequestMethod().equals("GET")) {
      return Answer.refused(null, scopes, 405, "UNSUPPORTED", "GET only");
    }
    if (!SERVICE.equals(first(query, "service"))) {
      return Answer.refused(null, scopes, 400, "DENIED", "service must be " + SERVICE);
    }
    String account = null;
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (authorization != null) {
      Login login = login(authorization);
      if (!login.valid()) {
        return Answer.refused(login.user(), scopes, 401, "UNAUTHORIZED", "authentication required");
      }
      account = login.user();
    } else {
      for (Resource r : grant(null, scopes).keySet()) {
        if (r.type().equals("repository") && !anonymousPull.test(r.name())) {
          return Answer.refused(null, scopes, 401, "UNAUTHORIZED", "authentication required");
        }
      }
    }
    List<Map<String, Object>> access = new ArrayList<>();
    List<String> granted = new ArrayList<>();
    for (Map.Entry<Resource, Set<String>> e : grant(account, scopes).entrySet()) {
      Resource r = e.getKey();
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("type", r.type());
      entry.put("name", r.name());
      entry.put("actions", List.copyOf(e.getValue()));
      access.add(entry);
      granted.add(r.type() + ":" + r.name() + ":" + String.join(",", e.getValue()));
    }
    TokenPolicy p = policy;
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    String token = sign(account, access, now, p.lifetime());
    TestSecrets.record(token);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("token", token);
    body.put("access_token", token);
    if (p.sendExpiresIn()) {
      body.put("expires_in", p.advertisedExpiresIn());
    }
    body.put("issued_at", now.toString());
    return new Answer(
        new TokenRequest(account, scopes, granted, 200), JSON.std.asString(body), false);
  }

  private record Resource(String type, String name) {}

  /** Per resource, the actions the account may have out of those it asked for. */
  private static Map<Resource, Set<String>> grant(String account, List<String> scopes) {
    Map<Resource, Set<String>> grants = new LinkedHashMap<>();
    for (String scope : scopes) {
      for (String one : scope.split(" ")) {
        int first = one.indexOf(':');
        int last = one.lastIndexOf(':');
        if (first < 0 || last == first) {
          continue;
        }
        String type = one.substring(0, first).replaceFirst("\\(.*\\)$", "");
        Resource resource = new Resource(type, one.substring(first + 1, last));
        for (String action : one.substring(last + 1).split(",")) {
          if (allowed(account, type, action)) {
            grants.computeIfAbsent(resource, r -> new LinkedHashSet<>()).add(action);
          }
        }
      }
    }
    return grants;
  }

  private static boolean allowed(String account, String type, String action) {
    if (Registry.USER.equals(account)) {
      return true;
    }
    return type.equals("repository") && action.equals("pull");
  }

  /** Who an {@code Authorization} header claims to be (null if unreadable), and if rightly. */
  private record Login(String user, boolean valid) {}

  private static Login login(String authorization) {
    if (!authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return new Login(null, false);
    }
    String decoded;
    try {
      decoded =
          new String(
              Base64.getDecoder().decode(authorization.substring(6).strip()),
              StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return new Login(null, false);
    }
    int colon = decoded.indexOf(':');
    if (colon < 0) {
      return new Login(null, false);
    }
    String user = decoded.substring(0, colon);
    String password = decoded.substring(colon + 1);
    boolean valid =
        (user.equals(Registry.USER) && password.equals(Registry.PASSWORD))
            || (user.equals(Registry.READER) && password.equals(Registry.READER_PASSWORD));
    return new Login(user, valid);
  }

  private String sign(
      String account, List<Map<String, Object>> access, Instant now, Duration lifetime) {
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .issuer(ISSUER)
            .subject(account == null ? "" : account)
            // A single audience is written as a JSON string, which is all distribution 2.8 reads.
            .audience(SERVICE)
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now))
            .expirationTime(Date.from(now.plus(lifetime)))
            .jwtID(HexFormat.of().formatHex(randomBytes(16)))
            .claim("access", access)
            .build();
    JWSHeader header =
        new JWSHeader.Builder(JWSAlgorithm.ES256)
            .type(JOSEObjectType.JWT)
            .x509CertChain(List.of(com.nimbusds.jose.util.Base64.encode(certificateDer)))
            .build();
    SignedJWT jwt = new SignedJWT(header, claims);
    try {
      jwt.sign(new ECDSASigner((ECPrivateKey) key.getPrivate()));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a token", e);
    }
    return jwt.serialize();
  }

  private synchronized void appendLog(String line) {
    try (Writer w =
        Files.newBufferedWriter(
            logFile,
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND)) {
      w.write(Instant.now() + " " + line + "\n");
    } catch (IOException e) {
      // the log is a debugging aid; the counters are what tests read
    }
  }

  private static String error(String code, String message) {
    try {
      return JSON.std.asString(Map.of("errors", List.of(Map.of("code", code, "message", message))));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String first(Map<String, List<String>> query, String name) {
    List<String> values = query.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  static Map<String, List<String>> parseQuery(String rawQuery) {
    Map<String, List<String>> query = new LinkedHashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return query;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String name =
          URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value =
          eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      query.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    return query;
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static byte[] selfSignedCertificate(KeyPair key) {
    X500Name subject = new X500Name("CN=oranc testkit token issuer");
    Instant now = Instant.now();
    try {
      JcaX509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              subject,
              new BigInteger(63, random).add(BigInteger.ONE),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(Duration.ofDays(2))),
              subject,
              key.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign));
      return builder
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()))
          .getEncoded();
    } catch (OperatorCreationException | CertIOException e) {
      throw new IllegalStateException("cannot make the token certificate", e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
