package dev.oranc.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.net.HostPattern;
import dev.oranc.common.nix.hash.Nix32;
import dev.oranc.common.oci.Digest;
import dev.oranc.common.oci.RepositoryRef;
import dev.oranc.common.registry.OciBinaryCache;
import dev.oranc.common.registry.RegistryClient;
import dev.oranc.common.registry.config.RegistryClientConfig;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.proxy.cache.BlobCache;
import dev.oranc.proxy.cache.LayerCache;
import dev.oranc.proxy.cache.PendingPublishes;
import dev.oranc.proxy.cache.Prefetcher;
import dev.oranc.proxy.metrics.ServerMetrics;
import dev.oranc.proxy.request.Backend;
import dev.oranc.proxy.route.AuthorizationParser;
import dev.oranc.proxy.s3.MultipartUploads;
import dev.oranc.proxy.upstream.UpstreamChecker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A warm narinfo GET through the server's whole pipeline, bytes in and bytes out: the request's
 * bytes are written into an {@code EmbeddedChannel} that holds exactly the handlers of {@code
 * ServerInitializer} (codec, keep-alive, idle, gate, access log, routing, caches, response), with
 * the layer and blob caches already holding the narinfo; the response's bytes are read and
 * released. This is the server's CPU cost and allocation per hot request without the socket.
 *
 * <p>Reference: the same request into a bare Netty pipeline ({@code HttpServerCodec}, keep-alive,
 * one handler answering the same bytes): what Netty's HTTP/1.1 alone costs.
 *
 * <p>In the package of the pipeline's assembly ({@code ServerInitializer.addHandlers}), as its
 * tests are. Logging is SLF4J's no-op here (the bench has no logging backend), so the access log
 * line costs nothing; the whole-system benchmark has it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
// The whole pipeline takes several seconds to compile: 10 s of warm-up.
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Thread)
public class HotRequestBenchmark {

  @Param({"anonymous", "basic"})
  public String credentials;

  private RegistryClient client;
  private EmbeddedChannel server;
  private EmbeddedChannel bare;
  private byte[] request;
  private byte[] narinfo;

  @Setup(Level.Trial)
  public void setUp() {
    Random random = new Random(42);
    byte[] hash = new byte[20];
    random.nextBytes(hash);
    String key = Nix32.encode(hash) + ".narinfo";
    narinfo = narinfoBytes(key);
    String authorization =
        credentials.equals("anonymous")
            ? null
            : "Basic "
                + Base64.getEncoder()
                    .encodeToString(
                        "user:ghp_0123456789abcdefghijklmnopqrstuvwxyz"
                            .getBytes(StandardCharsets.UTF_8));
    // What Nix 2.8 sends: Host, User-Agent, Accept (SPEC §3).
    request =
        ("GET /127.0.0.1:5000/owner/cache/"
                + key
                + " HTTP/1.1\r\n"
                + "Host: 127.0.0.1:8080\r\n"
                + "User-Agent: curl/7.88.1 Nix/2.8.0\r\n"
                + "Accept: */*\r\n"
                + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
                + "\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);

    // As a public instance runs: the allow-list is checked on every request.
    ServerConfig config =
        ServerConfig.builder()
            .allowRegistries(List.of(HostPattern.parse("127.0.0.1:5000")))
            .build();
    client = new RegistryClient(RegistryClientConfig.builder().tls(false).maxAttempts(1).build());
    ServerMetrics metrics = new ServerMetrics();
    LayerCache layers =
        new LayerCache(
            config.layerCacheEntries(),
            config.layerCacheTtl(),
            config.layerCacheNegativeTtl(),
            Ticker.systemTicker());
    BlobCache blobs =
        new BlobCache(
            config.blobCacheBytes(),
            config.smallBlobBytes(),
            config.blobCacheIdle(),
            Ticker.systemTicker());
    RepositoryRef repo = RepositoryRef.of("127.0.0.1:5000", "owner/cache");
    Digest digest = Digest.sha256(narinfo);
    StoredFile file =
        new StoredFile(
            repo,
            TagCodec.DEFAULT.writeTag(key),
            digest,
            narinfo.length,
            "text/x-nix-narinfo",
            null);
    layers
        .get(
            repo,
            key,
            AuthorizationParser.parse(authorization),
            () -> CompletableFuture.completedFuture(Optional.of(file)))
        .join();
    blobs.get(repo, digest, () -> CompletableFuture.completedFuture(narinfo)).join();
    MultipartUploads multipart =
        new MultipartUploads(
            config.multipartSpoolDir(),
            config.multipartSpoolBytes(),
            config.multipartExpiry(),
            config.maxMultipartUploadsPerClient(),
            config.ticker());
    Backend backend =
        new Backend(
            new OciBinaryCache(client, config.codec()),
            layers,
            blobs,
            new UpstreamChecker(
                List.of(),
                config.ignoreUpstream(),
                false,
                1,
                config.upstreamTimeout(),
                10,
                config.upstreamCacheTtl(),
                config.upstreamCacheNegativeTtl(),
                Ticker.systemTicker(),
                metrics),
            metrics,
            Prefetcher.disabled(),
            new PendingPublishes());
    server = new EmbeddedChannel();
    new ServerInitializer(
            config,
            backend,
            multipart,
            () -> false,
            new DefaultChannelGroup(GlobalEventExecutor.INSTANCE))
        .addHandlers(server.pipeline());

    bare =
        new EmbeddedChannel(
            new HttpServerCodec(), new HttpServerKeepAliveHandler(), new Answer(narinfo));

    // Both must answer 200 with the narinfo, or the benchmark measures an error page.
    for (EmbeddedChannel ch : List.of(server, bare)) {
      String out = new String(exchange(ch, new StringBuilder()), StandardCharsets.ISO_8859_1);
      if (!out.startsWith("HTTP/1.1 200 ")
          || !out.endsWith(new String(narinfo, StandardCharsets.ISO_8859_1))) {
        throw new IllegalStateException("unexpected answer:\n" + out);
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    server.finishAndReleaseAll();
    bare.finishAndReleaseAll();
    client.close();
  }

  @Benchmark
  public long server() {
    return exchange(server);
  }

  @Benchmark
  public long referenceBareNetty() {
    return exchange(bare);
  }

  /** Sends the request, returns how many response bytes came out (all released). */
  private long exchange(EmbeddedChannel ch) {
    ch.writeInbound(Unpooled.wrappedBuffer(request));
    ch.runPendingTasks();
    long n = 0;
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      n += b.readableBytes();
      b.release();
    }
    return n;
  }

  private byte[] exchange(EmbeddedChannel ch, StringBuilder out) {
    ch.writeInbound(Unpooled.wrappedBuffer(request));
    ch.runPendingTasks();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      out.append(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
    return out.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[] narinfoBytes(String key) {
    StringBuilder refs = new StringBuilder();
    Random random = new Random(7);
    for (int i = 0; i < 12; i++) {
      byte[] h = new byte[20];
      random.nextBytes(h);
      refs.append(i == 0 ? "" : " ").append(Nix32.encode(h)).append("-dependency-").append(i);
    }
    String hashPart = key.substring(0, 32);
    return ("StorePath: /nix/store/"
            + hashPart
            + "-openssl-3.0.13\n"
            + "URL: nar/1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0.nar.zst\n"
            + "Compression: zstd\n"
            + "FileHash: sha256:0vz5ggyk0ij8fj9hmz1svwh1i8pmhwqp1b4sb93wp679q4zx9k1ig\n"
            + "FileSize: 1914561\n"
            + "NarHash: sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0\n"
            + "NarSize: 6563272\n"
            + "References: "
            + refs
            + "\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Answers every request with the same bytes, as a static file server would. */
  private static final class Answer extends SimpleChannelInboundHandler<HttpObject> {
    private final byte[] body;

    Answer(byte[] body) {
      this.body = body;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (msg instanceof HttpRequest req) {
        FullHttpResponse r =
            new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/x-nix-narinfo");
        HttpUtil.setContentLength(r, body.length);
        HttpUtil.setKeepAlive(r, HttpUtil.isKeepAlive(req));
        ctx.writeAndFlush(r);
      }
    }
  }
}
