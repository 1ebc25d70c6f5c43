package dev.oranc.bench;

import dev.oranc.common.nix.signature.Fingerprint;
import dev.oranc.common.nix.signature.NixSignature;
import dev.oranc.common.nix.signature.PublicKey;
import dev.oranc.common.nix.signature.SecretKey;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
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
 * Ed25519 over a narinfo fingerprint with 12 references (push signs every path; a reader may
 * verify), against Bouncy Castle alone on the same bytes with its key objects made once: what the
 * wrapper adds (the fingerprint text, its UTF-8 bytes, the key parameters, the result object).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class SignatureBenchmark {

  private SecretKey secretKey;
  private PublicKey publicKey;
  private Fingerprint fingerprint;
  private NixSignature signature;
  private byte[] message;
  private Ed25519PrivateKeyParameters bcPrivate;
  private Ed25519PublicKeyParameters bcPublic;
  private byte[] rawSignature;

  @Setup(Level.Trial)
  public void setUp() {
    secretKey = Samples.secretKey();
    publicKey = secretKey.publicKey();
    fingerprint = Samples.narInfo(12).fingerprint();
    signature = secretKey.sign(fingerprint);
    message = fingerprint.bytes();
    String text = secretKey.toNixText();
    byte[] secret = Base64.getDecoder().decode(text.substring(text.indexOf(':') + 1));
    bcPrivate = new Ed25519PrivateKeyParameters(secret, 0);
    bcPublic = new Ed25519PublicKeyParameters(publicKey.bytes(), 0);
    rawSignature = signature.bytes();
  }

  @Benchmark
  public NixSignature sign() {
    return secretKey.sign(fingerprint);
  }

  @Benchmark
  public boolean verify() {
    return publicKey.verify(fingerprint, signature);
  }

  @Benchmark
  public String fingerprintText() {
    return fingerprint.text();
  }

  @Benchmark
  public byte[] referenceBouncyCastleSign() {
    Ed25519Signer signer = new Ed25519Signer();
    signer.init(true, bcPrivate);
    signer.update(message, 0, message.length);
    return signer.generateSignature();
  }

  @Benchmark
  public boolean referenceBouncyCastleVerify() {
    Ed25519Signer verifier = new Ed25519Signer();
    verifier.init(false, bcPublic);
    verifier.update(message, 0, message.length);
    return verifier.verifySignature(rawSignature);
  }
}
