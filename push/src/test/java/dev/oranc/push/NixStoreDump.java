package dev.oranc.push;

import dev.oranc.common.nix.store.StorePath;
import dev.oranc.push.nar.NarSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** NARs made by {@code nix-store --dump}: the reference the pushed NARs are compared with. */
public final class NixStoreDump implements NarSource {

  private static final int BUFFER = 128 * 1024;

  @Override
  public long writeNar(StorePath path, OutputStream out) throws IOException {
    Process p =
        new ProcessBuilder("nix-store", "--dump", path.toString())
            .redirectError(ProcessBuilder.Redirect.PIPE)
            .start();
    p.getOutputStream().close();
    long n = 0;
    byte[] buffer = new byte[BUFFER];
    try (InputStream in = p.getInputStream()) {
      int r;
      while ((r = in.read(buffer)) > 0) {
        out.write(buffer, 0, r);
        n += r;
      }
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    }
    try {
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("nix-store --dump " + path + " did not exit");
      }
      if (p.exitValue() != 0) {
        throw new IOException("nix-store --dump " + path + " failed: " + err);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while dumping " + path);
    }
    return n;
  }
}
