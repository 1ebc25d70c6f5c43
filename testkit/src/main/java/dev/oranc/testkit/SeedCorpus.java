package dev.oranc.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A fuzz test's seed corpus, and a bounded, seeded sweep of mutations of it for the normal suite.
 *
 * <p>Jazzer's {@code @FuzzTest} in regression mode (every run without {@code JAZZER_FUZZ=1}) runs
 * only the seed files in {@code <TestClass>Inputs/<method>/} next to the test's package on the
 * class path. {@link #sweep} adds what a short fuzzing run would do, without Jazzer's engine:
 * {@code count} inputs made from the seeds by the same kinds of mutation libFuzzer uses (bit flips,
 * byte changes to boundary values, insertions, deletions, duplicated ranges, splices of two seeds,
 * truncation), from a fixed random seed so that a failure reproduces. A failing input is reported
 * in full (as Java string escapes) so it can be added to the seeds.
 */
public final class SeedCorpus {

  private final List<byte[]> seeds;

  private SeedCorpus(List<byte[]> seeds) {
    this.seeds = List.copyOf(seeds);
  }

  /** The seed files of {@code testClass}'s fuzz test {@code method}; at least one must exist. */
  public static SeedCorpus of(Class<?> testClass, String method) {
    String dir = testClass.getSimpleName() + "Inputs/" + method;
    URL url = testClass.getResource(dir);
    if (url == null) {
      throw new IllegalStateException(
          "no seed directory " + dir + " next to " + testClass.getName());
    }
    List<byte[]> seeds = new ArrayList<>();
    try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
      for (Path f : files.sorted().toList()) {
        seeds.add(Files.readAllBytes(f));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    if (seeds.isEmpty()) {
      throw new IllegalStateException("the seed directory " + dir + " is empty");
    }
    return new SeedCorpus(seeds);
  }

  public List<byte[]> seeds() {
    return seeds;
  }

  /**
   * Runs {@code target} on every seed, then on {@code count} mutated inputs made with {@code
   * randomSeed}. The first input that makes it throw fails the sweep with that input.
   */
  public void sweep(long randomSeed, int count, Consumer<byte[]> target) {
    Random random = new Random(randomSeed);
    for (byte[] seed : seeds) {
      run(target, seed, "seed");
    }
    for (int i = 0; i < count; i++) {
      byte[] input = seeds.get(random.nextInt(seeds.size()));
      int rounds = 1 + random.nextInt(4);
      for (int r = 0; r < rounds; r++) {
        input = mutate(input, random);
      }
      run(target, input, "mutation " + i + " of random seed " + randomSeed);
    }
  }

  private static void run(Consumer<byte[]> target, byte[] input, String which) {
    try {
      target.accept(input);
    } catch (RuntimeException | AssertionError e) {
      throw new AssertionError(which + " failed on input \"" + escape(input) + "\": " + e, e);
    }
  }

  private static final byte[] INTERESTING = {
    0, 1, 0x7f, (byte) 0x80, (byte) 0xff, '\n', '\r', ':', '/', '%', '_', ' '
  };

  private byte[] mutate(byte[] in, Random random) {
    int n = in.length;
    switch (random.nextInt(8)) {
      case 0 -> { // flip a bit
        if (n == 0) {
          return new byte[] {(byte) random.nextInt(256)};
        }
        byte[] out = in.clone();
        out[random.nextInt(n)] ^= (byte) (1 << random.nextInt(8));
        return out;
      }
      case 1 -> { // set a byte to a boundary value
        if (n == 0) {
          return new byte[] {INTERESTING[random.nextInt(INTERESTING.length)]};
        }
        byte[] out = in.clone();
        out[random.nextInt(n)] = INTERESTING[random.nextInt(INTERESTING.length)];
        return out;
      }
      case 2 -> { // insert random bytes
        int at = random.nextInt(n + 1);
        byte[] extra = new byte[1 + random.nextInt(8)];
        random.nextBytes(extra);
        return splice(in, at, at, extra);
      }
      case 3 -> { // delete a range
        if (n == 0) {
          return in;
        }
        int at = random.nextInt(n);
        int end = Math.min(n, at + 1 + random.nextInt(16));
        return splice(in, at, end, new byte[0]);
      }
      case 4 -> { // duplicate a range
        if (n == 0) {
          return in;
        }
        int at = random.nextInt(n);
        int end = Math.min(n, at + 1 + random.nextInt(32));
        byte[] range = Arrays.copyOfRange(in, at, end);
        return splice(in, end, end, range);
      }
      case 5 -> { // splice with another seed
        byte[] other = seeds.get(random.nextInt(seeds.size()));
        int cut = random.nextInt(n + 1);
        int from = random.nextInt(other.length + 1);
        byte[] out = new byte[cut + other.length - from];
        System.arraycopy(in, 0, out, 0, cut);
        System.arraycopy(other, from, out, cut, other.length - from);
        return out;
      }
      case 6 -> { // truncate
        return Arrays.copyOf(in, n == 0 ? 0 : random.nextInt(n));
      }
      default -> { // overwrite 8 bytes with a little-endian length-like number
        if (n < 8) {
          return in;
        }
        byte[] out = in.clone();
        int at = random.nextInt(n - 7);
        long v =
            switch (random.nextInt(4)) {
              case 0 -> 0;
              case 1 -> random.nextInt(64);
              case 2 -> Long.MAX_VALUE;
              default -> -1;
            };
        for (int i = 0; i < 8; i++) {
          out[at + i] = (byte) (v >>> (8 * i));
        }
        return out;
      }
    }
  }

  private static byte[] splice(byte[] in, int from, int to, byte[] insert) {
    byte[] out = new byte[in.length - (to - from) + insert.length];
    System.arraycopy(in, 0, out, 0, from);
    System.arraycopy(insert, 0, out, from, insert.length);
    System.arraycopy(in, to, out, from + insert.length, in.length - to);
    return out;
  }

  /** Printable ASCII as is, everything else as a Java escape. */
  static String escape(byte[] input) {
    StringBuilder b = new StringBuilder();
    for (byte x : input) {
      int c = x & 0xff;
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        b.append((char) c);
      } else {
        b.append(String.format("\\u%04x", c));
      }
      if (b.length() > 2000) {
        return b + "…(" + input.length + " bytes)";
      }
    }
    return b.toString();
  }
}
