package dev.oranc.bench;

import dev.oranc.common.nix.hash.Nix32;
import dev.oranc.common.nix.hash.NixHash;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * nix32 of a SHA-256 (52 characters) and of a store path's 20-byte hash part (32 characters),
 * against the JDK's base-16 and base-64 codecs on the same bytes (the cost of any table-driven text
 * encoding of that length), plus {@link NixHash} parsing and printing of {@code sha256:<nix32>}, as
 * narinfos carry it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class Nix32Benchmark {

  private static final HexFormat HEX = HexFormat.of();

  private byte[] sha256;
  private byte[] hashPart;
  private String sha256Nix32;
  private String hashPartNix32;
  private String sha256Hex;
  private String sha256Base64;
  private String typedNix32;
  private NixHash hash;

  @Setup(Level.Trial)
  public void setUp() {
    Random random = new Random(42);
    sha256 = Samples.bytes(random, 32);
    hashPart = Samples.bytes(random, 20);
    sha256Nix32 = Nix32.encode(sha256);
    hashPartNix32 = Nix32.encode(hashPart);
    sha256Hex = HEX.formatHex(sha256);
    sha256Base64 = Base64.getEncoder().encodeToString(sha256);
    hash = NixHash.sha256(sha256);
    typedNix32 = hash.toNix32();
  }

  @Benchmark
  public String encodeSha256() {
    return Nix32.encode(sha256);
  }

  @Benchmark
  public byte[] decodeSha256() {
    return Nix32.decode(sha256Nix32);
  }

  @Benchmark
  public String encodeHashPart() {
    return Nix32.encode(hashPart);
  }

  @Benchmark
  public byte[] decodeHashPart() {
    return Nix32.decode(hashPartNix32);
  }

  @Benchmark
  public String referenceHexEncodeSha256() {
    return HEX.formatHex(sha256);
  }

  @Benchmark
  public byte[] referenceHexDecodeSha256() {
    return HEX.parseHex(sha256Hex);
  }

  @Benchmark
  public String referenceBase64EncodeSha256() {
    return Base64.getEncoder().encodeToString(sha256);
  }

  @Benchmark
  public byte[] referenceBase64DecodeSha256() {
    return Base64.getDecoder().decode(sha256Base64);
  }

  @Benchmark
  public NixHash parseTypedNix32() {
    return NixHash.parse(typedNix32);
  }

  @Benchmark
  public String printTypedNix32() {
    return hash.toNix32();
  }
}
