package dev.oranc.common.nix.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oranc.common.nix.hash.NixCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Names Nix itself puts in the store parse as Nix made them. */
class StorePathCliTest {

  @Test
  void parsesPathsNixAddsWithUnusualNames(@TempDir Path dir) throws Exception {
    String salt = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    for (String name : new String[] {".hidden-" + salt, "a+b=c?d_e.f-" + salt}) {
      Path file = dir.resolve(name);
      Files.writeString(file, name);
      String added = NixCli.nixStore("--add", file.toString()).strip();
      try {
        StorePath p = StorePath.parse(added);
        assertEquals(name, p.name());
        assertEquals(added, p.toString());
      } finally {
        NixCli.nixStore("--delete", added);
      }
    }
  }
}
