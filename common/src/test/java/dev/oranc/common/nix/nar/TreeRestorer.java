package dev.oranc.common.nix.nar;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Restores a NAR to a directory through {@link NarReader}, so tests can check the reader against
 * {@code nix-store --dump}. Test-only: it assumes UTF-8 names, and {@code Path.of} normalises
 * symlink targets with repeated or trailing slashes.
 */
final class TreeRestorer implements NarVisitor {

  private final Deque<Path> directories = new ArrayDeque<>();
  private final Path root;

  TreeRestorer(Path root) {
    this.root = root;
  }

  @Override
  public void directory(byte[] name) throws IOException {
    Path path = path(name);
    Files.createDirectory(path);
    directories.push(path);
  }

  @Override
  public void directoryEnd() {
    directories.pop();
  }

  @Override
  public void regular(
      byte[] name, boolean executable, long size, long contentsOffset, InputStream contents)
      throws IOException {
    Path path = path(name);
    Files.copy(contents, path);
    Files.setPosixFilePermissions(
        path, PosixFilePermissions.fromString(executable ? "r-xr-xr-x" : "r--r--r--"));
  }

  @Override
  public void symlink(byte[] name, byte[] target) throws IOException {
    Files.createSymbolicLink(path(name), Path.of(utf8(target)));
  }

  private Path path(byte[] name) throws IOException {
    return name.length == 0 ? root : directories.peek().resolve(utf8(name));
  }

  private static String utf8(byte[] bytes) throws IOException {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(bytes))
        .toString();
  }
}
